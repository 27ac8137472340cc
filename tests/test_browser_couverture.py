"""The Espace ARS « Couverture » page in a real Chromium, on the real Grand Est demo data:
the choropleth drawn from our commune vector tiles, its legend, the indicators, the ranked
list and a « what if » from a click on the map (screenshot couverture-ars.png)."""

from __future__ import annotations

import pytest

from cartographie import comptes
from tests.browser import artifact

DESKTOP = {"width": 1280, "height": 1000}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    page.route("**/tile.openstreetmap.org/**", lambda route: route.abort())
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def test_ars_sees_who_is_far_and_simulates_a_new_offer(page, live_server, demo_engine):
    with demo_engine.begin() as connection:
        token = comptes.add_user(connection, "navigateur-couverture", "ars_moderateur", "44")
    tiles = []
    page.on("response", lambda r: tiles.append(r.status) if "/tiles/couverture/" in r.url
            else None)
    page.goto(f"{live_server}/ars/connexion")
    page.fill("#jeton", token)
    page.click("form[action='/ars/connexion'] button[type=submit]")
    page.wait_for_url(f"{live_server}/ars")
    page.click("a[href='/ars/couverture']")
    page.select_option("#couverture-carte", "activite-physique")
    page.click("form[aria-label='Choisir la carte'] button[type=submit]")
    page.wait_for_selector("#carte-couverture[data-tuiles=chargees]", timeout=60_000)
    assert "Couverture de la région Grand Est" in page.inner_text("h1")
    assert 200 in tiles and all(status in (200, 204) for status in tiles)
    # The legend says every class in words, the colours are only a second cue.
    legend = page.inner_text("#legende")
    for words in ("moins de 5 km", "20 à 30 km", "plus de 30 km", "aucune offre"):
        assert words in legend
    indicators = page.inner_text("#indicateurs")
    assert "Quintile F-EDI 5 (plus défavorisé)" in indicators and "70–75 ans" in indicators
    assert "Écart" in page.inner_text("#ecart")
    assert page.locator("#priorites tbody tr").count() == 10
    page.screenshot(path=artifact("couverture-ars.png"), full_page=True)
    # A click in the middle of the région: « what if » an offer opened there.
    the_map = page.locator("#carte-couverture")
    box = the_map.bounding_box()
    the_map.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.wait_for_selector("#simulation")
    gained = page.inner_text("#simulation")
    assert "Personnes gagnées" in gained and "quintile F-EDI 5" in gained
    page.wait_for_selector("#carte-couverture[data-tuiles=chargees]", timeout=60_000)
    page.screenshot(path=artifact("couverture-ars-simulation.png"), full_page=True)
