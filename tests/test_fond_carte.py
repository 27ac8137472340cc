"""The basemap: the IGN « Plan IGN » by default, our own outlines when no tile server answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cartographie.settings import IGN_PLAN_URL
from tests.browser import artifact
from tests.test_browser import DESKTOP
from tests.test_ogc_tiles import decode, tile_of

STRASBOURG = (7.7521, 48.5734)
# Any small PNG stands for an IGN tile: there is no internet in the tests.
TILE_PNG = (Path(__file__).resolve().parent.parent / "maps" / "static" / "vendor" / "leaflet"
            / "images" / "layers.png")


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL (gdal-bin) absent")
def test_outline_tiles_carry_regions_departements_then_communes(demo_client, tmp_path):
    x, y = tile_of(*STRASBOURG, 6)
    wide = decode(demo_client.get(f"/tiles/contours/6/{x}/{y}.mvt").content, tmp_path / "a")
    assert "Layer name: regions" in wide and "Layer name: departements" in wide
    assert "Grand Est" in wide and "Bas-Rhin" in wide
    assert "Layer name: communes" not in wide  # a few pixels each: not at this zoom
    x, y = tile_of(*STRASBOURG, 11)
    close = decode(demo_client.get(f"/tiles/contours/11/{x}/{y}.mvt").content, tmp_path / "b")
    assert "Layer name: communes" in close and "Strasbourg" in close
    x, y = tile_of(-30.0, 40.0, 9)  # the Atlantic
    assert demo_client.get(f"/tiles/contours/9/{x}/{y}.mvt").status_code == 204
    problem = demo_client.get("/tiles/contours/3/9/0.mvt")
    assert problem.status_code == 422 and "hors de la grille" in problem.json()["detail"]


def outline_paths(page) -> int:
    return page.locator(".leaflet-contours-pane path").count()


@pytest.mark.parametrize("path", [
    "/cartes/addiction-tabac?z=9&c=48.57,7.75",
    "/orientation/fiche/carte?lieu=67482&cartes=addiction-tabac",  # the printed sheet's map
])
def test_maps_ask_the_ign_plan_and_credit_ign(browser, live_server, path):
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    asked = []
    page.route("**/data.geopf.fr/**", lambda route: asked.append(route.request.url)
               or route.fulfill(status=200, content_type="image/png",
                                body=TILE_PNG.read_bytes()))
    page.goto(live_server + path)
    # locators, not wait_for_function: its polling evaluates a string, which our CSP forbids
    page.locator(".leaflet-tile-loaded").first.wait_for(state="attached")
    assert asked and all(url.startswith(IGN_PLAN_URL.split("?")[0]) for url in asked)
    assert "LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in asked[0]
    assert "IGN" in page.locator(".leaflet-control-attribution").inner_text()
    assert outline_paths(page) == 0  # the basemap answered: no fallback drawn
    context.close()


def only_our_server(browser, live_server):
    """A browser context where every request but those to our own server is refused."""
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(live_server) else route.abort())
    return context


def test_with_the_network_blocked_the_map_draws_our_outlines(browser, live_server):
    """Everything but our own server refused: the map shows France, not a grey square."""
    context = only_our_server(browser, live_server)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/cartes/addiction-tabac?z=10&c=48.57,7.75")
    page.locator(".leaflet-contours-pane path").nth(20).wait_for(state="attached",
                                                                 timeout=20_000)
    assert page.locator("#carte.fond-secours").count() == 1
    assert "fond de secours" in page.locator(".leaflet-control-attribution").inner_text()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifact("fond-secours-carte.png")))
    assert not errors, errors
    context.close()


def test_the_printed_sheet_map_draws_our_outlines_without_the_basemap(browser, live_server):
    """The folium map of « Imprimer la fiche » uses the same fallback as the page maps."""
    context = only_our_server(browser, live_server)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/orientation/fiche?lieu=67482&age=47&cartes=addiction-tabac")
    sheet_map = page.frame_locator("iframe.fiche-carte")
    sheet_map.locator(".leaflet-contours-pane path").nth(20).wait_for(state="attached",
                                                                      timeout=20_000)
    assert sheet_map.locator(".folium-map.fond-secours").count() == 1
    assert sheet_map.locator(".repere").count() > 0  # the numbered offers, over the outlines
    assert "fond de secours" in sheet_map.locator(".leaflet-control-attribution").inner_text()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifact("fond-secours-fiche.png")), full_page=True)
    assert not errors, errors
    context.close()
