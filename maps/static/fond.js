/* The basemap of every page map, and our own background when it cannot be reached.
 *
 * The configured tile server (the IGN « Plan IGN » by default) is tried first. If its first
 * tile fails before any has loaded (no network, server down, a proxy that blocks it), the
 * région, département and commune outlines we serve ourselves (/tiles/contours) are drawn
 * instead on a light background: the map is never a grey square.
 */
(function () {
  "use strict";
  const LAND = { fill: true, fillColor: "#fbfaf6", fillOpacity: 1, stroke: true };
  const STYLES = {
    regions: Object.assign({}, LAND, { color: "#6a6a6a", weight: 1.4 }),
    departements: { fill: false, stroke: true, color: "#929292", weight: 0.9 },
    communes: { fill: false, stroke: true, color: "#c8c8c8", weight: 0.5 },
  };

  /* VectorGrid lets a tile whose fetch fails (network lost, server restarting) end in an
   * unhandled rejection: such a tile is drawn empty instead, and the next pan asks again. */
  const Outlines = L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise: function (coords) {
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords)
        .catch(() => ({ layers: {} }));
    },
  });

  function drawOutlines(map) {
    map.getContainer().classList.add("fond-secours");
    map.createPane("contours").style.zIndex = 150;  // above the tile pane, below the data
    new Outlines("/tiles/contours/{z}/{x}/{y}.mvt", {
      pane: "contours", maxNativeZoom: 14, interactive: false,
      rendererFactory: L.svg.tile, vectorTileLayerStyles: STYLES,
      attribution: "Contours : IGN Admin Express (fond de secours)",
    }).addTo(map);
  }

  window.cartographieFond = function (map, fond) {
    const tiles = L.tileLayer(fond.url, { attribution: fond.attribution, maxZoom: 19 });
    let reached = false;
    let fallback = false;
    tiles.on("tileload", () => { reached = true; });
    tiles.on("tileerror", () => {
      if (!reached && !fallback) { fallback = true; drawOutlines(map); }
    });
    tiles.addTo(map);
  };
})();
