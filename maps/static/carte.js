/* The card page: a Leaflet map and an accessible list of the same offers, driven by the API.
 *
 * Offers in view are asked for with the page's filters (`/api/v1/offres?bbox=…`); when there
 * are more than MAX_MARKERS the map draws the server's grid counts instead
 * (`/api/v1/offres/grille`), so a national view never builds thousands of markers. The page
 * state lives in the URL, so a view can be shared. Every text from the data is set with
 * textContent (never as HTML).
 */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("config-carte").textContent);
  const MAX_MARKERS = 500;
  const LIST_SIZE = 50;
  const CELL_PIXELS = 64;  // one bubble per 64 px square at most
  const FRANCE = [[41.3, -5.2], [51.1, 9.6]];
  const colours = Object.fromEntries(config.jeux.map((j) => [j.slug, j.couleur]));
  const form = document.getElementById("filtres");
  const statusLine = document.getElementById("etat");
  const list = document.getElementById("liste");
  const panel = document.getElementById("fiche-offre");
  const placeMessage = document.getElementById("lieu-message");

  // Our texts in the page's language (`_textes_carte.html`), the French key when one is
  // missing; the offers' own data stays French (lang="fr").
  const LANGUE = document.documentElement.lang || "fr";
  const TEXTES = JSON.parse(document.getElementById("textes-carte")?.textContent || "{}");
  const t = (french, values = {}) => (TEXTES[french] || french).replace(
    /%\((\w+)\)s/g, (whole, name) => (name in values ? String(values[name]) : whole));
  const plural = (n, one, many) => t(n > 1 ? many : one, { nombre: n });
  const COLON = LANGUE === "fr" ? " : " : ": ";  // French typography puts a space before

  const state = readState();
  const map = L.map("carte", { preferCanvas: true, zoomSnap: 0.5 });
  window.cartographieFond(map, config.fond);
  const clusters = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
  const bubbles = L.layerGroup();
  const placeLayer = L.layerGroup().addTo(map);
  map.addLayer(clusters).addLayer(bubbles);
  const markers = new Map();
  let request = 0;

  /* -- state <-> URL and form ----------------------------------------------------------- */

  function readState() {
    const p = new URLSearchParams(location.search);
    const number = (name) => (p.get(name) === null || p.get(name) === "" ? null : Number(p.get(name)));
    return {
      besoin: p.get("besoin") || "", type_offre: p.get("type_offre") || "",
      gratuit: p.get("gratuit") === "true", ouvert: p.get("ouvert") === "true", age: number("age"), rayon: number("rayon"),
      lieu: p.get("lieu") || "", lat: number("lat"), lon: number("lon"),
      jeux: p.has("jeux") ? p.get("jeux").split(",").filter(Boolean) : null,
      z: number("z"), c: (p.get("c") || "").split(",").map(Number), offre: number("offre"),
    };
  }

  function writeState() {
    const p = new URLSearchParams();
    const put = (name, value) => { if (value !== null && value !== "" && value !== false) p.set(name, value); };
    put("besoin", state.besoin); put("type_offre", state.type_offre);
    put("gratuit", state.gratuit ? "true" : ""); put("ouvert", state.ouvert ? "true" : "");
    put("age", state.age); put("rayon", state.rayon);
    put("lieu", state.lieu); put("lat", state.lat); put("lon", state.lon);
    if (state.jeux !== null) p.set("jeux", state.jeux.join(","));
    const centre = map.getCenter();
    p.set("z", map.getZoom()); p.set("c", `${centre.lat.toFixed(5)},${centre.lng.toFixed(5)}`);
    put("offre", state.offre);
    history.replaceState(null, "", `${location.pathname}?${p}`);
  }

  function fillForm() {
    form.besoin.value = state.besoin; form.type_offre.value = state.type_offre;
    form.gratuit.checked = state.gratuit; form.ouvert.checked = state.ouvert; form.age.value = state.age ?? "";
    form.rayon.value = state.rayon ?? ""; form.lieu.value = state.lieu;
    for (const box of form.querySelectorAll("input[name=jeu]")) {
      box.checked = state.jeux === null || state.jeux.includes(box.value);
    }
  }

  function readForm() {
    state.besoin = form.besoin.value; state.type_offre = form.type_offre.value;
    state.gratuit = form.gratuit.checked; state.ouvert = form.ouvert.checked;
    state.age = form.age.value === "" ? null : Math.max(0, Math.min(120, Math.round(Number(form.age.value))));
    state.rayon = form.rayon.value === "" ? null : Number(form.rayon.value);
    const checked = [...form.querySelectorAll("input[name=jeu]:checked")].map((b) => b.value);
    state.jeux = checked.length === config.jeux.length ? null : checked;
  }

  /* -- asking the API ----------------------------------------------------------------- */

  function filterParams() {
    const p = new URLSearchParams({ carte: config.carte });
    if (state.besoin) p.set("besoin", state.besoin);
    if (state.type_offre) p.set("type_offre", state.type_offre);
    if (state.gratuit) p.set("gratuit", "true");
    if (state.age !== null && !Number.isNaN(state.age)) p.set("age", state.age);
    if (state.jeux !== null) p.set("jeu", state.jeux.join(","));
    if (state.rayon && state.lat !== null) {
      p.set("lat", state.lat); p.set("lon", state.lon); p.set("rayon_km", state.rayon);
    }
    return p;
  }

  function viewBox() {
    const b = map.getBounds();
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    const west = clamp(b.getWest(), -180, 179.9), east = clamp(b.getEast(), west + 0.0001, 180);
    const south = clamp(b.getSouth(), -90, 89.9), north = clamp(b.getNorth(), south + 0.0001, 90);
    return [west, south, east, north].map((v) => v.toFixed(5)).join(",");
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || t("erreur du service"));
    return body;
  }

  async function refresh() {
    const mine = ++request;
    const bbox = viewBox();
    const listParams = filterParams();
    listParams.set("bbox", bbox);
    if (!listParams.has("lat")) {
      const origin = state.lat !== null ? L.latLng(state.lat, state.lon) : map.getCenter();
      listParams.set("lat", origin.lat.toFixed(5)); listParams.set("lon", origin.lng.toFixed(5));
    }
    listParams.set("limit", LIST_SIZE);
    // « Ouvert maintenant »: the hours are evaluated by the API at this instant; the grid
    // counts know nothing of hours, so with this filter the map draws markers only.
    if (state.ouvert) listParams.set("ouvert_le", new Date().toISOString());
    const gridParams = filterParams();
    gridParams.set("bbox", bbox);
    const size = map.getSize();
    gridParams.set("cellules", Math.max(2, Math.ceil(Math.max(size.x, size.y) / CELL_PIXELS)));
    statusLine.textContent = t("Chargement des offres…");
    try {
      // The list and the grid are asked together: a wide view needs both, and fast.
      const [page, grid] = await Promise.all([
        getJson(`/api/v1/offres?${listParams}`), getJson(`/api/v1/offres/grille?${gridParams}`)]);
      if (mine !== request) return;
      if (page.total <= page.offres.length) {
        drawMarkers(page.offres);
      } else if (page.total <= MAX_MARKERS || state.ouvert) {
        listParams.set("limit", MAX_MARKERS);
        const all = await getJson(`/api/v1/offres?${listParams}`);
        if (mine !== request) return;
        drawMarkers(all.offres);
      } else {
        drawCells(grid.cellules);
      }
      drawList(page);
      writeState();
    } catch (error) {
      if (mine === request) statusLine.textContent = t("Les offres n'ont pas pu être chargées : %(erreur)s", { erreur: error.message });
    }
  }

  /* -- drawing ------------------------------------------------------------------------- */

  function colourOf(offer) {
    const jeu = (offer.jeux || []).find((slug) => colours[slug]);
    return jeu ? colours[jeu] : "#000091";
  }

  function textNode(tag, text, className) {
    const node = document.createElement(tag);
    node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function drawMarkers(offers) {
    bubbles.clearLayers(); clusters.clearLayers(); markers.clear();
    const layers = offers.filter((o) => o.lat !== null).map((offer) => {
      const marker = L.circleMarker([offer.lat, offer.lon], {
        radius: 8, color: "#fff", weight: 2, fillColor: colourOf(offer), fillOpacity: 0.95,
      });
      marker.bindTooltip(textNode("span", offer.nom));
      marker.on("click", () => openOffer(offer.id));
      marker.offerId = offer.id;
      markers.set(offer.id, marker);
      return marker;
    });
    clusters.addLayers(layers);
    performance.mark("offres-dessinees");
    // What is drawn, readable by tests and assistive tools (markers are on a canvas).
    document.getElementById("carte").dataset.mode = "marqueurs";
    document.getElementById("carte").dataset.offres = layers.map((m) => m.offerId).join(",");
  }

  function drawCells(cells) {
    bubbles.clearLayers(); clusters.clearLayers(); markers.clear();
    for (const cell of cells) {
      const size = cell.nombre < 10 ? 30 : cell.nombre < 100 ? 38 : 46;
      const icon = L.divIcon({
        className: "bulle", iconSize: [size, size],
        html: `<span>${Number(cell.nombre)}</span>`,
      });
      const bubble = L.marker([cell.lat, cell.lon], { icon, keyboard: false, title: plural(Number(cell.nombre), "%(nombre)s offre", "%(nombre)s offres") });
      bubble.on("click", () => map.setView([cell.lat, cell.lon], Math.min(map.getZoom() + 2, 18)));
      bubbles.addLayer(bubble);
    }
    performance.mark("offres-dessinees");
    document.getElementById("carte").dataset.mode = "grille";
    document.getElementById("carte").dataset.offres = "";
  }

  function distance(metres) {
    const number = (value, digits) => new Intl.NumberFormat(LANGUE, { minimumFractionDigits: digits, maximumFractionDigits: digits, numberingSystem: "latn" }).format(value);
    return metres < 1000 ? t("à %(distance)s m", { distance: number(Math.round(metres), 0) })
      : t("à %(distance)s km", { distance: number(metres / 1000, 1) });
  }

  /* The national identifiers a professional quotes (FINESS, ROR), straight from the list. */
  function sourceIds(offer) {
    const ror = (offer.identifiants || []).filter((i) => i.source === "ror").map((i) => `ROR ${i.cle}`);
    return [offer.finess_et ? `FINESS ${offer.finess_et}` : null, ...ror].filter(Boolean).join(" · ");
  }

  function drawList(page) {
    list.replaceChildren();
    const shown = page.offres.slice(0, LIST_SIZE);
    for (const offer of shown) {
      const item = document.createElement("li");
      item.className = "fr-mb-1w";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "offre-bouton";
      button.dataset.id = offer.id;
      const swatch = textNode("span", "", "pastille");
      swatch.style.setProperty("--couleur", colourOf(offer));
      swatch.setAttribute("aria-hidden", "true");
      button.append(swatch, textNode("strong", offer.nom));
      const where = [offer.adresse, [offer.code_postal, offer.commune].filter(Boolean).join(" ")].filter(Boolean).join(", ");
      if (where) button.append(textNode("span", where, "fr-text--sm offre-adresse"));
      const ids = sourceIds(offer);
      if (ids) button.append(textNode("span", ids, "fr-text--xs offre-identifiants"));
      if (offer.distance_m !== undefined && state.lat !== null) {
        button.append(textNode("span", distance(offer.distance_m), "fr-badge fr-badge--sm"));
      }
      if (offer.ouverture && offer.ouverture.etat !== "inconnu") button.append(openingBadge(offer.ouverture));
      button.addEventListener("click", () => openOffer(offer.id, true));
      item.append(button);
      list.append(item);
    }
    const nearest = state.lat === null ? t("La liste montre les %(nombre)s plus proches du centre de la carte.", { nombre: shown.length })
      : state.lieu ? t("La liste montre les %(nombre)s plus proches de %(lieu)s.", { nombre: shown.length, lieu: state.lieu })
        : t("La liste montre les %(nombre)s plus proches de votre position.", { nombre: shown.length });
    statusLine.textContent = page.total === 0
      ? t("Aucune offre dans cette zone avec ces filtres. Élargissez la carte ou retirez un filtre.")
      : [plural(page.total, "%(nombre)s offre dans cette zone.", "%(nombre)s offres dans cette zone."),
        page.total > shown.length ? nearest : "",
        page.total > MAX_MARKERS ? t("Zoomez pour voir chaque offre sur la carte.") : ""].filter(Boolean).join(" ");
  }

  /* -- one offer ----------------------------------------------------------------------- */

  const OPENING_BADGES = { ouvert: "success", ferme_bientot: "warning", ouvre: "error", ferme: "error", inconnu: "info" };

  /* The place's wall clock as the API writes it (« 2026-12-04T18:00:00+01:00 »): a date in UTC
   * terms, so that Intl names its day and time without the browser's own time zone. */
  function wallClock(iso) {
    const [, y, mo, d, h, mi] = iso.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/).map(Number);
    return new Date(Date.UTC(y, mo - 1, d, h, mi));
  }

  function when(change, now) {
    const format = (options) => new Intl.DateTimeFormat(LANGUE, { timeZone: "UTC", numberingSystem: "latn", ...options }).format(change);
    const days = Math.round((Date.UTC(change.getUTCFullYear(), change.getUTCMonth(), change.getUTCDate()) -
      Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())) / 86400000);
    const heure = format({ hour: "numeric", minute: "2-digit" });
    if (days === 1 && change.getUTCHours() === 0 && change.getUTCMinutes() === 0) return t("à minuit");
    if (days === 0) return t("à %(heure)s", { heure });
    if (days === 1) return t("demain à %(heure)s", { heure });
    if (days < 7) return t("%(jour)s à %(heure)s", { jour: format({ weekday: "long" }), heure });
    return t("le %(date)s à %(heure)s", { date: format({ day: "numeric", month: "long" }), heure });
  }

  /* The API's French sentence on a French page; elsewhere said again from its instants
   * (as maps/textes_offre.py does for the server-rendered pages). */
  const SAID_FROM_CHANGE = { ouvert: "Ouvert · ferme %(quand)s", ferme_bientot: "Ferme bientôt (%(quand)s)", ouvre: "Fermé · ouvre %(quand)s" };

  function openingLabel(ouverture) {
    const pattern = SAID_FROM_CHANGE[ouverture.etat];
    if (LANGUE === "fr" || !pattern || !ouverture.prochain_changement) return t(ouverture.libelle);
    return t(pattern, { quand: when(wallClock(ouverture.prochain_changement), wallClock(ouverture.le)) });
  }

  function dayText(iso) {
    const day = wallClock(`${iso.slice(0, 10)}T00:00`);
    const options = LANGUE === "fr" ? { day: "2-digit", month: "2-digit", year: "numeric" } : { day: "numeric", month: "long", year: "numeric" };
    return new Intl.DateTimeFormat(LANGUE, { timeZone: "UTC", numberingSystem: "latn", ...options }).format(day);
  }

  function openingBadge(ouverture) {
    const badge = textNode("span", openingLabel(ouverture), `fr-badge fr-badge--sm fr-badge--no-icon fr-badge--${OPENING_BADGES[ouverture.etat] || "info"} ouverture`);
    badge.dataset.etat = ouverture.etat;
    return badge;
  }

  function safeUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  }

  function link(href, text) {
    const a = textNode("a", text, "fr-link");
    a.href = href;
    if (href.startsWith("http")) a.rel = "noopener";
    return a;
  }

  /* « Label : value »; a value from the sources is marked French, one of ours is not. */
  function row(label, content, fromSources = true) {
    const line = document.createElement("p");
    line.className = "fr-mb-1w";
    const data = document.createElement("span");
    if (fromSources) { data.lang = "fr"; data.dir = "ltr"; }
    data.append(content);
    line.append(textNode("strong", `${t(label)}${COLON}`), data);
    return line;
  }

  // When the offer was last confirmed, and by whom (``verification.CONFIRMED_BY``).
  const VERIFICATION = {
    ars: "Informations vérifiées le %(date)s par l'ARS",
    source: "Informations vérifiées le %(date)s par une source nationale",
    source_non_datee: "Informations lues le %(date)s dans une source nationale (date de ses données inconnue)",
  };
  const verification = (offer) => t(VERIFICATION[offer.verifie_par] || "Informations mises à jour le %(date)s", { date: dayText(offer.verifie_le) });

  // A temporary closure or temporary hours in force today, with the ARS's message (French).
  const TEMPORAIRES = { fermeture: "Fermé temporairement jusqu'au %(jour)s", horaires: "Horaires temporaires jusqu'au %(jour)s" };
  function temporaryInformation(info) {
    const line = document.createElement("p");
    line.className = "fr-mb-1w temporaire";
    line.dataset.genre = info.genre;
    line.append(textNode("strong", t(TEMPORAIRES[info.genre], { jour: dayText(info.au) })));
    for (const text of [info.horaires_texte, info.message]) {
      if (text) line.append(" ", Object.assign(textNode("span", text), { lang: "fr", dir: "ltr" }));
    }
    return line;
  }

  const SOURCE_NAMES = { finess: "FINESS", ror: "ROR", vaccination: "liste nationale des lieux de vaccination", ars: "ARS" };

  async function openOffer(id, fromList) {
    let offer;
    try { offer = await getJson(`/api/v1/offres/${Number(id)}`); } catch (error) {
      panel.hidden = false; panel.replaceChildren(textNode("p", `${t("Offre indisponible")}${COLON}${error.message}`));
      return;
    }
    state.offre = offer.id;
    writeState();
    const title = textNode("h2", offer.nom, "fr-h5");
    title.id = "fiche-titre";
    title.lang = "fr";
    const close = textNode("button", t("Fermer"), "fr-btn--close fr-btn");
    close.type = "button";
    close.addEventListener("click", () => { panel.hidden = true; state.offre = null; writeState(); });
    const parts = [close, title];
    if (offer.description) parts.push(Object.assign(textNode("p", offer.description), { lang: "fr" }));
    const address = [offer.adresse, [offer.code_postal, offer.commune].filter(Boolean).join(" ")].filter(Boolean).join(", ");
    if (address) parts.push(row("Adresse", document.createTextNode(address)));
    for (const contact of offer.contacts || []) {
      if (!contact.valeur) continue;
      if (contact.type === "telephone") {
        parts.push(row("Téléphone", link(`tel:${contact.valeur.replace(/[^0-9+]/g, "")}`, contact.valeur)));
      } else if (contact.type === "email") {
        parts.push(row("Courriel", link(`mailto:${encodeURIComponent(contact.valeur).replace("%40", "@")}`, contact.valeur)));
      } else if (safeUrl(contact.valeur)) {
        parts.push(row("Site", link(safeUrl(contact.valeur), contact.valeur)));
      }
    }
    if (offer.site_web && safeUrl(offer.site_web)) parts.push(row("Site", link(safeUrl(offer.site_web), offer.site_web)));
    if (offer.reservation_url && safeUrl(offer.reservation_url)) {
      const booking = link(safeUrl(offer.reservation_url), t("Prendre rendez-vous"));
      booking.className = "fr-btn fr-btn--sm";
      parts.push(booking);
    }
    if (offer.ouverture) parts.push(row("En ce moment", openingBadge(offer.ouverture), false));
    for (const info of offer.informations_temporaires || []) parts.push(temporaryInformation(info));
    parts.push(offer.horaires_texte ? row("Horaires", document.createTextNode(offer.horaires_texte)) : row("Horaires", t("non renseignés"), false));
    const access = Object.entries(offer.accessibilite || {}).map(([k, v]) => `${k.replaceAll("_", " ")} : ${v === true ? "oui" : v === false ? "non" : v}`);
    parts.push(access.length ? row("Accessibilité", document.createTextNode(access.join(" ; "))) : row("Accessibilité", t("non renseignée"), false));
    if (offer.gratuit) parts.push(textNode("p", t("Gratuit"), "fr-badge fr-badge--green-emeraude"));
    const sources = [...new Set((offer.sources?.enregistrements || []).filter((s) => s.actif).map((s) => SOURCE_NAMES[s.source] || s.source))];
    parts.push(row("Sources", document.createTextNode(sources.join(", ") || "—")));
    if (offer.maj_le) parts.push(row("Mise à jour", dayText(offer.maj_le), false));
    if (offer.verifie_le) parts.push(textNode("p", verification(offer), "fr-text--sm fr-mb-1w verification"));
    const report = link(`/offres/${Number(offer.id)}/signaler?retour=${encodeURIComponent(location.pathname + location.search)}`,
      t("Signaler une erreur"));
    report.classList.add("fr-icon-warning-line", "fr-link--icon-left", "signaler");
    parts.push(Object.assign(document.createElement("p"), { className: "fr-mb-0" }));
    parts.at(-1).append(report);
    panel.replaceChildren(...parts);
    panel.hidden = false;
    // A marker shown on its own gets its tooltip; one inside a cluster (or not drawn) is
    // reached by moving the map. Not zoomToShowLayer: the move redraws the markers, and its
    // callback then ran on a removed marker (a Leaflet error, seen in the widget).
    const marker = markers.get(offer.id);
    if (marker && clusters.getVisibleParent(marker) === marker) marker.openTooltip();
    else if (fromList && offer.lat !== null) map.setView([offer.lat, offer.lon], Math.max(map.getZoom(), 15));
    if (fromList) title.setAttribute("tabindex", "-1"), title.focus();
  }

  /* -- place ----------------------------------------------------------------------------- */

  function setPlace(label, lat, lon) {
    state.lieu = label; state.lat = lat; state.lon = lon;
    placeLayer.clearLayers();
    L.circleMarker([lat, lon], { radius: 9, color: "#fff", weight: 3, fillColor: "#161616", fillOpacity: 1 })
      .bindTooltip(textNode("span", label)).addTo(placeLayer);
    if (state.rayon) {
      L.circle([lat, lon], { radius: state.rayon * 1000, color: "#000091", weight: 1, fill: false }).addTo(placeLayer);
      map.fitBounds(L.latLng(lat, lon).toBounds(state.rayon * 2000));
    } else {
      map.setView([lat, lon], 12);
    }
  }

  async function searchPlace() {
    const text = form.lieu.value.trim();
    placeMessage.hidden = true;
    if (text.length < 2) return;
    try {
      const place = await getJson(`/api/v1/lieux?q=${encodeURIComponent(text)}`);
      setPlace(place.libelle, place.lat, place.lon);
      form.lieu.value = place.libelle;
    } catch (error) {
      placeMessage.textContent = t("Lieu introuvable : %(erreur)s", { erreur: error.message });
      placeMessage.hidden = false;
    }
  }

  document.getElementById("chercher-lieu").addEventListener("click", searchPlace);
  form.addEventListener("submit", (event) => { event.preventDefault(); searchPlace(); });
  document.getElementById("autour-de-moi").addEventListener("click", () => {
    if (!navigator.geolocation) { placeMessage.textContent = t("Votre navigateur ne donne pas sa position."); placeMessage.hidden = false; return; }
    navigator.geolocation.getCurrentPosition(
      (position) => setPlace(t("votre position"), position.coords.latitude, position.coords.longitude),
      () => { placeMessage.textContent = t("Position indisponible : autorisez la géolocalisation ou saisissez une commune."); placeMessage.hidden = false; },
      { timeout: 10000 });
  });
  for (const name of ["besoin", "type_offre", "gratuit", "ouvert", "age", "rayon"]) {
    form[name].addEventListener("change", () => {
      readForm();
      if (name === "rayon" && state.lat !== null) setPlace(state.lieu, state.lat, state.lon);
      else refresh();
    });
  }
  for (const box of form.querySelectorAll("input[name=jeu]")) box.addEventListener("change", () => { readForm(); refresh(); });

  let pending;
  map.on("moveend", () => { clearTimeout(pending); pending = setTimeout(refresh, 150); });

  /* -- start ------------------------------------------------------------------------------ */

  fillForm();
  const sharedView = state.z !== null && state.c.length === 2 && state.c.every(Number.isFinite);
  if (state.lat !== null && state.lon !== null) {
    setPlace(state.lieu || t("lieu choisi"), state.lat, state.lon);
  } else if (!sharedView) {
    map.fitBounds(FRANCE);
    if (state.lieu) searchPlace();
  }
  if (sharedView) map.setView(state.c, state.z);  // a shared URL gives back its exact view
  if (state.offre) openOffer(state.offre);
})();
