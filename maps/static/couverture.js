// Espace ARS « Couverture »: the région's communes from our vector tiles, coloured by the
// distance to the nearest offer (classes and colours given by the page), and a click on the
// map that asks « what if an offer opened here? » (the form below the map, sent by GET).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("config-couverture").textContent);
  var map = L.map("carte-couverture", { preferCanvas: true });
  window.cartographieFond(map, config.fond);
  if (config.emprise) { map.fitBounds(config.emprise); } else { map.setView([46.6, 2.4], 5); }

  function colour(properties) {
    if (properties.distance_km === undefined || properties.distance_km === null) {
      return config.sans_offre;
    }
    for (var i = 0; i < config.classes.length; i++) {
      var c = config.classes[i];
      if (c.max_km === null || properties.distance_km <= c.max_km) { return c.couleur; }
    }
    return config.sans_offre;
  }

  var layer = L.vectorGrid.protobuf(config.tuiles, {
    rendererFactory: L.canvas.tile,
    maxNativeZoom: 14,
    interactive: false,  // clicks go to the map: « what if » at that point
    vectorTileLayerStyles: {
      communes: function (properties) {
        return { fill: true, fillColor: colour(properties), fillOpacity: 0.8, weight: 0.4,
                 color: "#ffffff" };
      }
    }
  }).addTo(map);
  // Said on the map element once the tiles in view are drawn (for people's tools and tests).
  layer.on("load", function () { map.getContainer().setAttribute("data-tuiles", "chargees"); });

  if (config.point) { L.circleMarker(config.point, { radius: 7, color: "#000091" }).addTo(map); }
  map.on("click", function (event) {
    var form = document.getElementById("form-simulation");
    document.getElementById("simulation-adresse").value = "";
    document.getElementById("simulation-adresse").disabled = true;
    ["lat", "lon"].forEach(function (name) {
      var input = document.getElementById("simulation-" + name);
      input.disabled = false;
      input.value = (name === "lat" ? event.latlng.lat : event.latlng.lng).toFixed(5);
    });
    form.submit();
  });
})();
