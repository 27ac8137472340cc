"""The pages over HTTP: content, French errors, escaping, CSP, the sheet, the static export."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import text

from maps.export import export_card
from maps.qrcode import qr_svg

PAYLOAD = '<img src=x onerror="alert(1)">`${alert(2)}`</script><script>alert(3)</script>'
EXTERNAL_ASSET = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', re.I)


def test_home_shows_the_seven_subjects_and_twelve_cards(demo_client):
    response = demo_client.get("/")
    assert response.status_code == 200
    html = response.text
    assert len(re.findall(r'<section class="fr-mb-4w" aria-labelledby="theme-', html)) == 7
    assert len(re.findall(r'class="fr-tile fr-enlarge-link carte-tuile"', html)) == 12
    assert 'action="/recherche"' in html
    redirect = demo_client.get("/recherche", params={"carte": "addiction-tabac",
                                                     "lieu": "Metz"}, follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/cartes/addiction-tabac?lieu=Metz"


def test_pages_carry_a_strict_csp_and_load_nothing_from_elsewhere(demo_client):
    for url in ("/", "/cartes/addiction-tabac", "/orientation", "/widget/cartes/addiction-tabac"):
        response = demo_client.get(url)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split(
            "style-src")[0]
        assert "object-src 'none'" in csp and "img-src 'self' data: https://data.geopf.fr" in csp
        assert not EXTERNAL_ASSET.search(response.text), url
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text):
            assert demo_client.get(asset).status_code == 200, asset


def test_card_page_has_its_text_resources_filters_and_jeux(demo_client):
    html = demo_client.get("/cartes/addiction-tabac").text
    assert "<h1>Tabac</h1>" in html
    assert 'href="tel:3989"' in html and "Tabac Info Service" in html
    assert 'id="besoin"' in html and 'value="tabac-arreter"' in html
    assert 'id="type_offre"' in html and 'id="gratuit"' in html and 'id="rayon"' in html
    assert 'id="jeu-csapa-tabac"' in html and "En savoir plus" in html


def test_unknown_card_page_is_a_french_page(demo_client):
    response = demo_client.get("/cartes/addiction-chocolat")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "addiction-chocolat" in response.text and "Revenir à l'accueil" in response.text


def test_orientation_form_answers_card_by_card(demo_client):
    params = {"lieu": "Strasbourg", "age": "47",
              "cartes": ["addiction-tabac", "activite-physique"]}
    html = demo_client.get("/orientation", params=params).text
    api = demo_client.get("/api/v1/orientation", params={
        "adresse": "Strasbourg", "age": 47,
        "cartes": "addiction-tabac,activite-physique"}).json()
    tabac = api["cartes"][0]
    assert tabac["jeux"], "des offres tabac près de Strasbourg"
    found = re.findall(r'<li class="offre" data-id="(\d+)"', html)
    expected = [str(o["id"]) for card in api["cartes"] for s in card["jeux"] for o in s["offres"]]
    assert found == expected
    sections = re.findall(r'<section class="fr-mb-2w resultat-jeu" data-jeu="([^"]+)"', html)
    assert sections == [s["jeu"]["slug"] for card in api["cartes"] for s in card["jeux"]]
    assert 'id="imprimer-fiche"' in html and "Aides à distance" in html


def test_orientation_counts_each_jeus_offers_in_french(demo_client):
    """« La plus proche (à 187 km) », never « Les 1 plus proches »."""
    params = {"lieu": "Strasbourg", "age": "47", "cartes": ["addiction-drogues", "sante-mentale"]}
    html = demo_client.get("/orientation", params=params).text
    api = demo_client.get("/api/v1/orientation", params={
        "adresse": "Strasbourg", "age": 47, "cartes": "addiction-drogues,sante-mentale"}).json()
    counts = [len(s["offres"]) for card in api["cartes"] for s in card["jeux"]]
    assert 1 in counts, "un jeu à une seule offre près de Strasbourg (CAARUD)"
    assert "Les 1 plus proches" not in html
    assert html.count("La plus proche (à ") == counts.count(1)
    for n in set(counts) - {1}:
        assert html.count(f"Les {n} plus proches (jusqu") == counts.count(n)


@pytest.mark.parametrize("params, message", [
    ({"lieu": "Nulle-Part-sur-Rien", "cartes": ["addiction-tabac"]}, "adresse introuvable"),
    ({"lieu": "Strasbourg"}, "de 1 à 3 cartes"),
    ({"lieu": "Strasbourg", "cartes": ["a", "b", "c", "d"]}, "de 1 à 3 cartes"),
    ({"lieu": "Strasbourg", "cartes": ["addiction-tabac"], "age": "deux"}, "âge"),
    ({"lieu": "95, 500", "cartes": ["addiction-tabac"]}, "coordonnées hors limites"),
])
def test_orientation_form_errors_are_shown_in_french(demo_client, params, message):
    response = demo_client.get("/orientation", params=params)
    assert response.status_code in (404, 422)
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text and 'role="alert"' in response.text


def test_the_sheet_lists_the_offers_and_its_map_is_ours(demo_client):
    params = {"lieu": "67482", "age": "47", "cartes": ["addiction-tabac"]}
    sheet = demo_client.get("/orientation/fiche", params=params)
    assert sheet.status_code == 200 and "Mes ressources de prévention" in sheet.text
    assert "Code Commune 67482" not in sheet.text and "Strasbourg" in sheet.text
    map_page = demo_client.get("/orientation/fiche/carte", params=params)
    nonce = re.search(r"'nonce-([^']+)'", map_page.headers["content-security-policy"])[1]
    scripts = re.findall(r"<script[^>]*>", map_page.text)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert not EXTERNAL_ASSET.search(map_page.text)
    assert "L.control.zoom" not in map_page.text and '"zoomControl": false' in map_page.text


def test_the_sheet_takes_the_api_parameters_and_shows_the_same_sections(demo_client):
    query = "code_commune=67482&age=47&cartes=addiction-tabac,sante-mentale"
    sheet = demo_client.get(f"/orientation/fiche?{query}")
    assert sheet.status_code == 200
    api = demo_client.get(f"/api/v1/orientation?{query}").json()
    sections = re.findall(r'<section class="fiche-jeu" data-jeu="([^"]+)"', sheet.text)
    assert sections == [s["jeu"]["slug"] for card in api["cartes"] for s in card["jeux"]]
    listed = re.findall(r'<li class="offre" data-id="(\d+)"', sheet.text)
    assert listed == [str(o["id"]) for c in api["cartes"] for s in c["jeux"] for o in s["offres"]]
    # the QR code is the same answer online; what is typed on the sheet is in no form
    online = f"http://testserver/orientation?{query}"
    assert str(qr_svg(online, "Ces ressources en ligne")) in sheet.text
    assert "Mes objectifs et mes actions" in sheet.text and "<form" not in sheet.text
    same_answer = demo_client.get(f"/orientation?{query}")
    assert re.findall(r'<li class="offre" data-id="(\d+)"', same_answer.text) == listed


@pytest.mark.parametrize("query, message", [
    ("cartes=addiction-tabac", "lieu absent : indiquez « lieu »"),
    ("code_commune=67482", "cartes absentes"),
    ("code_commune=6748&cartes=addiction-tabac", "code_commune : « 6748 » n'est pas un code"),
    ("code_commune=99999&cartes=addiction-tabac", "code_commune : commune inconnue"),
    ("code_commune=67482&cartes=addiction-tabac,chocolat", "cartes : valeur inconnue"),
    ("code_commune=67482&adresse=Strasbourg&cartes=addiction-tabac", "un seul lieu"),
    ("code_commune=67482&cartes=addiction-tabac&besoins=mental-jeunes", "besoins : "),
])
def test_a_bad_sheet_parameter_is_named_in_french(demo_client, query, message):
    sheet = demo_client.get(f"/orientation/fiche?{query}")
    assert sheet.status_code == 422 and message in html.unescape(sheet.text)
    assert "Ressource introuvable" not in sheet.text


def hostile_offer(connection) -> None:
    connection.execute(text("""
        INSERT INTO offre (id, nom, description, adresse, statut, geom, code_commune,
                           contacts, horaires)
        OVERRIDING SYSTEM VALUE VALUES
            (900001, :payload, :payload, :payload, 'publiee',
             ST_SetSRID(ST_MakePoint(7.7521, 48.5734), 4326), '67482',
             CAST(:contacts AS jsonb), :payload)
    """), {"payload": PAYLOAD,
           "contacts": '[{"type": "telephone", "valeur": "03 88 <b>00</b>"}]'})
    connection.execute(text("INSERT INTO jeu_offre (jeu_slug, offre_id, raison) "
                            "VALUES ('csapa-tabac', 900001, 'regle')"))


def test_hostile_texts_are_escaped_on_the_orientation_page_and_sheet(client, connection):
    hostile_offer(connection)
    params = {"lieu": "48.5734, 7.7521", "cartes": ["addiction-tabac"]}
    for url in ("/orientation", "/orientation/fiche"):
        html = client.get(url, params=params).text
        assert "&lt;img src=x onerror=" in html, url
        assert "<img src=x" not in html and "<script>alert(3)" not in html, url
        assert "03 88 &lt;b&gt;00&lt;/b&gt;" in html
    folium_page = client.get("/orientation/fiche/carte", params=params).text
    assert "<img src=x" not in folium_page and "${alert(2)}" not in folium_page


def test_static_export_is_self_contained_with_layers_per_jeu(demo_engine, settings, tmp_path):
    from sqlalchemy.orm import Session

    output = tmp_path / "tabac.html"
    with Session(demo_engine) as session:
        count = export_card(session, settings, "addiction-tabac", "44", output)
    html = output.read_text(encoding="utf-8")
    assert count > 100
    assert html.count("L.circleMarker(") == count
    assert not EXTERNAL_ASSET.search(html)
    assert "L.markerClusterGroup" in html and "L.control.layers" in html
    assert "CSAPA (tabacologie)" in html


def test_a_need_chosen_on_the_form_keeps_its_jeux(demo_client):
    html = demo_client.get("/orientation", params={
        "lieu": "67482", "cartes": ["addiction-tabac"], "besoins": "tabac-substituts"}).text
    sections = re.findall(r'<section class="fr-mb-2w resultat-jeu" data-jeu="([^"]+)"', html)
    assert sections and "csapa-tabac" not in sections
    assert '<option value="tabac-substituts" selected>' in html
