"""Maps rendered on the server with folium: the orientation sheet's small map, the static export.

folium loads Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default; here every map
uses only our vendored Leaflet (and markercluster), either linked from ``/static`` (pages) or
inlined (a self-contained export that opens offline). Texts from sources go into JavaScript
template strings inside folium's output, so they are escaped for HTML *and* stripped of what
could end such a string (backtick, ``${``, backslash).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import folium
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template
from markupsafe import escape

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
VENDOR_URL = "/static/vendor"
LEAFLET_JS = [("leaflet", f"{VENDOR_URL}/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", f"{VENDOR_URL}/leaflet/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", f"{VENDOR_URL}/leaflet.markercluster/leaflet.markercluster.js")]
# The outline fallback of the page maps (maps/static/fond.js over /tiles/contours).
FOND_JS = [("vectorgrid", f"{VENDOR_URL}/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
           ("fond", "/static/fond.js")]
CLUSTER_CSS = [
    ("markerclustercss", f"{VENDOR_URL}/leaflet.markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", f"{VENDOR_URL}/leaflet.markercluster/MarkerCluster.Default.css"),
]
# Colours of the jeux d'offres, in order (DSFR illustrative colours, readable on a map).
# Jeux colours, in order: each at least 4.5:1 against white (the numbers drawn on them), and
# the first six (a card has at most six jeux) told apart under protanopia, deuteranopia and
# tritanopia (tests/test_accessibilite.py::test_map_colours_contrast_and_colour_blind_safe).
PALETTE = ("#000091", "#c9191e", "#18753c", "#6e445a", "#3558a2", "#a558a0", "#b34000",
           "#006a6f", "#716043", "#8d533e")
PLACE_COLOUR = "#161616"
FRANCE_CENTRE = (46.6, 2.4)


def safe_text(value: Any) -> str:
    """HTML-escaped text that cannot end a JavaScript template string either."""
    return (str(escape("" if value is None else value))
            .replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;"))


class FondAvecSecours(MacroElement):
    """The configured basemap through ``fond.js``, as on the page maps: when it cannot be
    reached, our own outlines (``/tiles/contours``) are drawn instead of a grey square."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.cartographieFond({{ this._parent.get_name() }}, {{ this.fond|tojson }});
        {% endmacro %}
    """)

    def __init__(self, tiles_url: str, attribution: str) -> None:
        super().__init__()
        self._name = "FondAvecSecours"
        self.fond = {"url": tiles_url, "attribution": safe_text(attribution)}


def base_map(location: tuple[float, float], zoom: int, tiles_url: str, attribution: str,
             interactive: bool = True, outline_fallback: bool = False) -> folium.Map:
    """A folium map on our vendored Leaflet and the configured basemap.

    ``outline_fallback`` for maps served by us (the outline tiles are ours); a self-contained
    export, opened offline, has no server to ask them from.
    """
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True,
                   zoom_control=interactive, dragging=interactive,
                   scroll_wheel_zoom=interactive, double_click_zoom=interactive,
                   touch_zoom=interactive, keyboard=interactive)
    m.default_js = LEAFLET_JS + (FOND_JS if outline_fallback else [])
    m.default_css = LEAFLET_CSS
    if outline_fallback:
        FondAvecSecours(tiles_url, attribution).add_to(m)
    else:
        folium.TileLayer(tiles_url, attr=safe_text(attribution), name="Fond de carte",
                         control=False).add_to(m)
    return m


def numbered_icon(number: int, colour: str) -> folium.DivIcon:
    return folium.DivIcon(
        html=(f'<div class="repere" style="background:{colour}">{int(number)}</div>'),
        icon_size=(24, 24), icon_anchor=(12, 12), class_name="repere-conteneur")


def offer_popup(offer: dict[str, Any]) -> str:
    """The popup of an offer: its name, address and phone numbers, all escaped."""
    lines = [f"<strong>{safe_text(offer.get('nom'))}</strong>"]
    address = " ".join(str(part) for part in (offer.get("adresse"), offer.get("code_postal"),
                                              offer.get("commune")) if part)
    if address:
        lines.append(safe_text(address))
    for contact in offer.get("contacts") or []:
        if contact.get("type") == "telephone" and contact.get("valeur"):
            lines.append(f"Tél. {safe_text(contact['valeur'])}")
    return "<br>".join(lines)


class Popup(folium.Popup):
    """folium's popup without jQuery (which we do not ship): Leaflet takes the HTML itself."""

    _template = Template("""
        var {{ this.get_name() }} = L.popup({{ this.options|tojavascript }});
        {% for name, element in this.html._children.items() %}
            {{ this.get_name() }}.setContent(`{{ element.render(**kwargs).replace('\\n',' ') }}`);
        {% endfor %}
        {{ this._parent.get_name() }}.bindPopup({{ this.get_name() }});
    """)


MARKER_CSS = """
<style>
.repere-conteneur { background: none; border: none; }
.repere { width: 24px; height: 24px; border-radius: 50%; color: #fff; font: bold 12px/24px
  Marianne, Arial, sans-serif; text-align: center; border: 2px solid #fff;
  box-shadow: 0 0 2px #000; }
.fond-secours { background: #ececea; }
</style>
"""


def sheet_map(place: dict[str, Any], cards: list[dict[str, Any]], tiles_url: str,
              attribution: str, interactive: bool = False) -> folium.Map:
    """The orientation sheet's map: the person's place and the numbered offers of each card.

    Printed on paper: no zoom buttons, no dragging (``interactive`` for a screen, as on the
    « Faire mon bilan » page); numbers match the lists (one numbering per card, through its
    jeux in order). Served by us, so without the basemap it falls back to our outlines.
    """
    m = base_map((place["lat"], place["lon"]), 12, tiles_url, attribution,
                 interactive=interactive, outline_fallback=True)
    m.get_root().header.add_child(folium.Element(MARKER_CSS))
    points = [(place["lat"], place["lon"])]
    folium.CircleMarker((place["lat"], place["lon"]), radius=8, color="#fff", weight=3,
                        fill=True, fill_color=PLACE_COLOUR, fill_opacity=1,
                        tooltip=safe_text(place.get("libelle") or "Lieu")).add_to(m)
    for index, card in enumerate(cards):
        colour = PALETTE[index % len(PALETTE)]
        offers = [offer for section in card["jeux"] for offer in section["offres"]]
        for number, offer in enumerate(offers, start=1):
            if offer.get("lat") is None:
                continue
            points.append((offer["lat"], offer["lon"]))
            folium.Marker((offer["lat"], offer["lon"]), icon=numbered_icon(number, colour),
                          tooltip=safe_text(offer.get("nom"))).add_to(m)
    if len(points) > 1:
        m.fit_bounds(bounds_of(points), padding=(36, 36))
    return m


def bounds_of(points: Iterable[tuple[float, float]]) -> list[list[float]]:
    lats, lons = zip(*points, strict=True)
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def card_map(jeux: list[dict[str, Any]], offers: list[dict[str, Any]], tiles_url: str,
             attribution: str) -> folium.Map:
    """A card's offers, one clustered layer per jeu d'offres with a layer switcher (export)."""
    points = [(o["lat"], o["lon"]) for o in offers if o.get("lat") is not None]
    m = base_map(FRANCE_CENTRE, 6, tiles_url, attribution)  # then fitted to the offers
    groups = {}
    for index, jeu in enumerate(jeux):
        colour = PALETTE[index % len(PALETTE)]
        layer = folium.FeatureGroup(
            name=f'<span style="color:{colour}">●</span> {safe_text(jeu["nom"])}').add_to(m)
        cluster = MarkerCluster(name=safe_text(jeu["nom"]), control=False).add_to(layer)
        cluster.default_js, cluster.default_css = CLUSTER_JS, CLUSTER_CSS
        groups[jeu["slug"]] = (cluster, colour)
    for offer in offers:
        if offer.get("lat") is None:
            continue
        slug = next((j for j in offer.get("jeux") or [] if j in groups), None)
        if slug is None:
            continue
        cluster, colour = groups[slug]
        folium.CircleMarker((offer["lat"], offer["lon"]), radius=7, color="#fff", weight=1,
                            fill=True, fill_color=colour, fill_opacity=0.9,
                            tooltip=safe_text(offer.get("nom")),
                            popup=Popup(offer_popup(offer), max_width=300)).add_to(cluster)
    folium.LayerControl(collapsed=False).add_to(m)
    if points:
        m.fit_bounds(bounds_of(points))
    return m


ASSET_TAGS = re.compile(
    r'<script src="(?P<js>/static/[^"]+)"></script>'
    r'|<link rel="stylesheet" href="(?P<css>/static/[^"]+)"\s*/?>')


def inline_assets(html: str) -> str:
    """Replace links to our vendored files by their content: the page then opens offline."""

    def inline(match: re.Match) -> str:
        path = match.group("js") or match.group("css")
        content = (STATIC_DIR / path.removeprefix("/static/")).read_text(encoding="utf-8")
        if match.group("js"):
            return "<script>" + content.replace("</script", "<\\/script") + "</script>"
        return "<style>" + content + "</style>"

    return ASSET_TAGS.sub(inline, html)


def with_nonce(html: str, nonce: str) -> str:
    """Mark a generated page's inline scripts with its CSP nonce (other inline code won't run)."""
    return re.sub(r"<script(?=[\s>])", f'<script nonce="{nonce}"', html)


def render(m: folium.Map) -> str:
    return m.get_root().render()
