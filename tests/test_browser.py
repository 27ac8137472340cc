"""The pages in a real headless Chromium (Debian's), on the real Grand Est demo data.

Basemap tiles are blocked in every test: the machine has no internet, and the pages must
show offers without their basemap anyway. Screenshots and the printed sheet are kept in
``test-artifacts/``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from api.app import create_app
from cartographie import comptes
from tests.browser import artifact
from tests.conftest import running
from tests.test_pages import PAYLOAD

STRASBOURG = {"lat": 48.5734, "lon": 7.7521}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    page.route("**/data.geopf.fr/**", lambda route: route.abort())
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}") or
            dialog.dismiss())
    yield page
    context.close()
    assert not errors, errors


def shown_offer_ids(page) -> list[int]:
    return [int(i) for i in page.locator("#liste button[data-id]").evaluate_all(
        "buttons => buttons.map(b => b.dataset.id)")]


def mapped_offer_ids(page) -> set[int]:
    ids = page.get_attribute("#carte", "data-offres") or ""
    return {int(i) for i in ids.split(",") if i}


def test_home_lists_the_twelve_cards(page, live_server):
    page.goto(live_server + "/")
    assert page.locator(".carte-tuile").count() == 12
    page.screenshot(path=artifact("accueil.png"), full_page=True)
    page.select_option("#recherche-carte", "addiction-tabac")
    page.fill("#recherche-lieu", "Strasbourg")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url("**/cartes/addiction-tabac**")
    page.wait_for_selector("#carte[data-mode=marqueurs]", state="attached")
    assert "lieu=Strasbourg" in page.url


def test_card_page_draws_offers_from_the_api_and_list_agrees(page, live_server, demo_client):
    page.goto(f"{live_server}/cartes/addiction-tabac?lieu=Strasbourg&lat={STRASBOURG['lat']}"
              f"&lon={STRASBOURG['lon']}&rayon=5")
    page.wait_for_selector("#carte[data-mode=marqueurs]", state="attached")
    page.wait_for_selector("#liste button[data-id]")
    listed, mapped = shown_offer_ids(page), mapped_offer_ids(page)
    assert listed and set(listed) <= mapped
    api = demo_client.get("/api/v1/offres", params={
        "carte": "addiction-tabac", **STRASBOURG, "rayon_km": 5, "limit": 500}).json()
    assert mapped == {o["id"] for o in api["offres"]}
    assert listed == [o["id"] for o in api["offres"]][:len(listed)]  # nearest first
    assert page.locator(".leaflet-marker-icon, .leaflet-overlay-pane canvas").count() > 0
    page.screenshot(path=artifact("carte-tabac-strasbourg.png"))


def test_a_need_filter_changes_results_and_url(page, live_server):
    page.goto(f"{live_server}/cartes/addiction-tabac?z=11&c=48.5734,7.7521")
    page.wait_for_selector("#liste button[data-id]")
    before = shown_offer_ids(page)
    status_before = page.inner_text("#etat")
    page.select_option("#besoin", "tabac-arreter")
    page.wait_for_url("**besoin=tabac-arreter**")
    page.wait_for_selector("#liste button[data-id]")
    after = shown_offer_ids(page)
    assert parse_qs(urlsplit(page.url).query)["besoin"] == ["tabac-arreter"]
    assert after != before or page.inner_text("#etat") != status_before
    # The shared URL gives the same view back.
    page.goto(page.url)
    page.wait_for_selector("#liste button[data-id]")
    assert page.input_value("#besoin") == "tabac-arreter"
    assert shown_offer_ids(page) == after


def test_an_offer_opens_its_panel_from_the_keyboard(page, live_server):
    page.goto(f"{live_server}/cartes/addiction-tabac?lieu=Strasbourg&lat={STRASBOURG['lat']}"
              f"&lon={STRASBOURG['lon']}&rayon=5")
    first = page.locator("#liste button[data-id]").first
    first.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#fiche-offre")
    panel.wait_for(state="visible")
    assert "Horaires" in panel.inner_text() and "Sources" in panel.inner_text()
    assert "offre=" in page.url


def test_national_view_is_aggregated_not_thousands_of_markers(page, live_server):
    page.goto(f"{live_server}/cartes/vaccination-adulte")
    page.wait_for_selector("#carte[data-mode]", state="attached")
    assert page.get_attribute("#carte", "data-mode") == "grille"
    assert 0 < page.locator(".bulle").count() < 400


def test_phone_sized_window_shows_map_and_list(browser, live_server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.route("**/data.geopf.fr/**", lambda route: route.abort())
    phone.goto(f"{live_server}/cartes/addiction-tabac?lieu=Metz&lat=49.1193&lon=6.1757&rayon=10")
    phone.wait_for_selector("#liste button[data-id]")
    box = phone.locator("#carte").bounding_box()
    assert box["width"] <= PHONE["width"] and box["height"] >= 300
    phone.screenshot(path=artifact("carte-telephone.png"), full_page=True)
    context.close()


def test_orientation_sheet_prints_with_the_expected_offers(page, live_server, demo_client):
    page.goto(live_server + "/orientation")
    page.fill("#lieu", "Strasbourg")
    page.fill("#age", "47")
    page.click("label[for=carte-addiction-tabac]")
    page.click("label[for=carte-activite-physique]")
    page.click("form button[type=submit]")
    page.wait_for_selector("#imprimer-fiche")
    page.click("#imprimer-fiche")
    page.wait_for_url("**/orientation/fiche**")
    page.frame_locator("iframe.fiche-carte").locator(".leaflet-container").wait_for()
    expected = demo_client.get("/api/v1/orientation", params={
        "adresse": "Strasbourg", "age": 47,
        "cartes": "addiction-tabac,activite-physique"}).json()
    listed = [int(i) for i in page.locator("li.offre").evaluate_all(
        "items => items.map(i => i.dataset.id)")]
    assert listed == [o["id"] for card in expected["cartes"] for s in card["jeux"]
                      for o in s["offres"]]
    page.emulate_media(media="print")
    assert not page.locator("#imprimer").is_visible()
    # printed as French reads it: « à 1,2 km », and a resource's address printed once
    assert "km" in page.locator("li.offre .fr-badge").first.evaluate("e => e.innerText")
    assert page.locator(".ressources a[href^=http]").first.evaluate(
        "a => getComputedStyle(a, '::after').content") == "none"
    pdf = artifact("fiche-orientation.pdf")
    page.pdf(path=pdf, format="A4", print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    page.screenshot(path=artifact("fiche-orientation.png"), full_page=True)


def test_every_icon_the_pages_use_is_served(page, live_server):
    """A DSFR icon whose set is not loaded is drawn as a filled square (« Imprimer la fiche »
    had one): each fr-icon-… used must have its picture."""
    for path in ("/", "/cartes/addiction-tabac",
                 "/orientation?adresse=Strasbourg&age=47&cartes=addiction-tabac", "/ars"):
        page.goto(live_server + path)
        missing = page.locator("[class*=fr-icon-]").evaluate_all("""els => els
            .filter(e => [getComputedStyle(e, '::before'), getComputedStyle(e, '::after')]
                .every(s => (s.maskImage || s.webkitMaskImage || 'none') === 'none'))
            .map(e => e.className)""")
        assert not missing, (path, missing)


def test_hostile_texts_stay_text_in_the_browser(browser, settings, ingest_engine):
    with ingest_engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO offre (id, nom, description, statut, geom, code_commune)
            OVERRIDING SYSTEM VALUE VALUES (900001, :p, :p, 'publiee',
                ST_SetSRID(ST_MakePoint(7.7521, 48.5734), 4326), '67482')
        """), {"p": PAYLOAD})
        connection.execute(text("INSERT INTO jeu_offre (jeu_slug, offre_id, raison) "
                                "VALUES ('csapa-tabac', 900001, 'regle')"))
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.route("**/data.geopf.fr/**", lambda route: route.abort())
    alerts = []
    page.on("dialog", lambda dialog: alerts.append(dialog.message) or dialog.dismiss())
    with running(create_app(settings, engine=ingest_engine)) as url:
        page.goto(f"{url}/cartes/addiction-tabac?lat=48.5734&lon=7.7521&rayon=5&offre=900001")
        page.wait_for_selector("#liste button[data-id]")
        page.locator("#fiche-offre").wait_for(state="visible")
        assert PAYLOAD in page.inner_text("#liste") and PAYLOAD in page.inner_text("#fiche-offre")
        page.goto(f"{url}/orientation/fiche?lieu=48.5734,7.7521&cartes=addiction-tabac")
        page.frame_locator("iframe.fiche-carte").locator(".leaflet-container").wait_for()
        assert PAYLOAD in page.inner_text("main")
        page.wait_for_timeout(300)
    context.close()
    assert alerts == []


def test_api_documentation_runs_on_our_own_swagger_ui(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Cartographie des ressources de prévention" in page.inner_text(".swagger-ui .info")
    assert page.locator(".opblock").count() > 10
    assert all(url.startswith(live_server) or url.startswith("data:") for url in requested)
def sign_in(page, url: str, token: str) -> None:
    """The Espace ARS login form, from its page, to the région's offers."""
    page.fill("#jeton", token)
    page.click("form[action='/ars/connexion'] button[type=submit]")
    page.wait_for_url(f"{url}/ars")


def test_ars_editor_logs_in_creates_an_offer_and_sees_it_as_a_draft(page, settings,
                                                                     ingest_engine):
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        token = comptes.add_user(connection, "navigateur-editeur", "ars_editeur", "44")
    with running(create_app(settings, engine=ingest_engine)) as url:
        page.goto(f"{url}/ars")
        page.wait_for_url("**/ars/connexion")
        sign_in(page, url, token)
        page.click("a[href='/ars/offres/nouvelle']")
        page.fill("#champ-nom", "Atelier équilibre alimentaire")
        page.click("label[for=carte-nutrition]")
        page.fill("#champ-latitude", str(STRASBOURG["lat"]))
        page.fill("#champ-longitude", str(STRASBOURG["lon"]))
        page.fill("#champ-telephone", "03 88 00 00 00")
        page.click("#formulaire-offre button[type=submit]")
        page.wait_for_selector("#resultat[data-resultat=creee]")
        offer_id = page.get_attribute("#resultat", "data-id")
        page.click("a[href='/ars']")
        row = page.locator(f"#offres-ars tr[data-id='{offer_id}']")
        assert "Atelier équilibre alimentaire" in row.inner_text()
        assert row.locator("[data-statut]").text_content().strip() == "Brouillon"
        page.screenshot(path=artifact("espace-ars-brouillon.png"), full_page=True)
    with ingest_engine.connect() as connection:
        assert connection.execute(text("SELECT statut, origine FROM offre WHERE id = :id"),
                                  {"id": int(offer_id)}).one() == ("brouillon", "ars")


def test_ars_editor_settles_a_near_miss_and_the_next_check_reuses_it(page, settings,
                                                                      ingest_engine):
    from tests.test_pages_ars import national_offer

    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        token = comptes.add_user(connection, "navigateur-rapprochement", "ars_editeur", "44")
        national = national_offer(connection, settings, "Centre de vaccination Quai Kléber",
                                  7.7450, 48.5830)
    # The same name placed 356 m north (a street-level position): close, not enough alone.
    content = (b"identifiant;nom;cartes;latitude;longitude\n"
               b"k1;CTRE DE VACCINATION QUAI KLEBER;vaccination-adulte;48.5862;7.7450\n")
    upload = {"name": "offres.csv", "mimeType": "text/csv", "buffer": content}
    with running(create_app(settings, engine=ingest_engine)) as url:
        page.goto(f"{url}/ars/connexion")
        sign_in(page, url, token)
        page.goto(f"{url}/ars/import")
        page.set_input_files("#fichier", upload)
        page.click("button[value=verifier]")
        near = page.locator(f"#rapport-lignes tr[data-resultat=creee] "
                            f"form.ressemblance[data-offre='{national}']")
        near.wait_for()
        assert "à 356 m → score 0.75" in near.inner_text()
        page.screenshot(path=artifact("espace-ars-ressemblance.png"), full_page=True)
        near.locator("button[value=confirme]").click()
        page.wait_for_selector("#decision-rapprochement")
        assert f"C'est l'offre {national}" in page.inner_text("#decision-rapprochement")
        page.set_input_files("#fichier", upload)
        page.click("button[value=verifier]")
        line = page.locator("#rapport-lignes tr[data-ligne='2']")
        line.wait_for()
        assert line.get_attribute("data-resultat") == "doublon"
        assert "rapprochement confirmé par l'ARS" in line.inner_text()
    with ingest_engine.connect() as connection:
        assert connection.execute(text("""
            SELECT decision FROM rapprochement_decision WHERE offre_id = :id
        """), {"id": national}).scalar_one() == "confirme"
        assert connection.execute(text("""
            SELECT count(*) FROM audit WHERE action = 'rapprochement_confirme'
        """)).scalar_one() == 1


def test_ars_import_report_pages_in_the_browser(page, settings, ingest_engine, tmp_path):
    """A 130-row check shows its errors first, then « Voir les lignes suivantes » (the same
    file chosen again) shows the other lines."""
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        token = comptes.add_user(connection, "navigateur-import", "ars_editeur", "44")
    path = tmp_path / "offres-longues.csv"
    path.write_text("identifiant;nom;cartes;latitude;longitude\n" + "".join(
        f"n{i};Atelier Kiwi Navigateur {i:03d};{'' if i % 13 == 0 else 'nutrition'};"
        f"{48.50 + i / 1000:.4f};{7.70 + i / 1000:.4f}\n" for i in range(130)), "utf-8")
    rows = "#rapport-lignes tbody tr"
    with running(create_app(settings, engine=ingest_engine)) as url:
        page.goto(f"{url}/ars/connexion")
        sign_in(page, url, token)
        page.goto(f"{url}/ars/import")
        page.set_input_files("#fichier", str(path))
        page.click("button[value=verifier]")
        page.wait_for_selector("#rapport")
        first = page.locator(rows).evaluate_all("rows => rows.map(r => r.dataset.ligne)")
        assert len(first) == 100
        assert page.locator(f"{rows}[data-resultat=erreur]").count() == 10
        assert "page 1 sur 2" in page.inner_text("#pagination-rapport")
        page.set_input_files("#fichier-pages", str(path))
        page.click("#autres-lignes button[type=submit]")
        page.wait_for_selector("#rapport")
        assert "page 2 sur 2" in page.inner_text("#pagination-rapport")
        second = page.locator(rows).evaluate_all("rows => rows.map(r => r.dataset.ligne)")
        page.screenshot(path=artifact("espace-ars-rapport-page-2.png"), full_page=True)
    assert sorted(int(line) for line in first + second) == list(range(2, 132))


# -- Espace ARS « Couverture » (issue 15) ---------------------------------------------------


def test_ars_sees_who_is_far_and_simulates_a_new_offer(page, live_server, demo_engine):
    """The choropleth from our commune tiles, its worded legend, the indicators, the ranked
    list and a « what if » from a click on the map (screenshots couverture-ars*.png)."""
    with demo_engine.begin() as connection:
        token = comptes.add_user(connection, "navigateur-couverture", "ars_moderateur", "44")
    tiles = []
    page.on("response", lambda r: tiles.append(r.status) if "/tiles/couverture/" in r.url
            else None)
    page.goto(f"{live_server}/ars/connexion")
    sign_in(page, live_server, token)
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
