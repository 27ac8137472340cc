"""The first public endpoints: themes, cards, and French problem+json errors."""

from sqlalchemy import text

from cartographie.taxonomy import CARTES, THEMES_CARTES


def test_themes_list_the_seven_subjects_with_their_cards(client):
    response = client.get("/api/v1/themes")
    assert response.status_code == 200
    themes = response.json()
    assert [t["slug"] for t in themes] == list(THEMES_CARTES)
    for theme in themes:
        assert [c["slug"] for c in theme["cartes"]] == list(THEMES_CARTES[theme["slug"]])
        assert theme["nom"] and theme["description"]


def test_cards_come_with_editorial_text_resources_and_needs(client):
    response = client.get("/api/v1/cartes")
    assert response.status_code == 200
    cartes = response.json()
    assert [c["slug"] for c in cartes] == list(CARTES)
    assert len({c["theme"]["slug"] for c in cartes}) == 7
    for carte in cartes:
        assert carte["texte_editorial"].strip()
        assert carte["ressources"]
        assert len(carte["besoins"]) >= 3
        known_types = {t["slug"] for t in carte["types_offre"]}
        for besoin in carte["besoins"]:
            assert besoin["types_offre"] and set(besoin["types_offre"]) <= known_types


def test_a_card_gives_clickable_phone_numbers(client):
    carte = client.get("/api/v1/cartes/addiction-tabac").json()
    tabac = next(r for r in carte["ressources"] if r["slug"] == "tabac-info-service")
    assert tabac["telephone"] == "39 89"
    assert tabac["telephone_uri"] == "tel:3989"
    alcool = client.get("/api/v1/cartes/addiction-alcool").json()
    line = next(r for r in alcool["ressources"] if r["slug"] == "alcool-info-service")
    assert line["telephone_uri"] == "tel:+33980980930"


def test_a_card_lists_its_jeux_with_their_published_offers(client, connection):
    connection.execute(text("""
        INSERT INTO offre (id, nom, statut, geom) OVERRIDING SYSTEM VALUE VALUES
            (900001, 'CSAPA publié', 'publiee', ST_SetSRID(ST_MakePoint(7.75, 48.58), 4326)),
            (900002, 'CSAPA brouillon', 'brouillon', ST_SetSRID(ST_MakePoint(7.75, 48.58), 4326));
        INSERT INTO jeu_offre (jeu_slug, offre_id, raison) VALUES
            ('csapa-tabac', 900001, 'regle'), ('csapa-tabac', 900002, 'regle');
    """))
    carte = client.get("/api/v1/cartes/addiction-tabac").json()
    assert [j["slug"] for j in carte["jeux"]] == [
        "csapa-tabac", "tabacologie-centres-de-sante", "pharmacies-substituts-nicotiniques",
        "addiction-tabac-offres-ars"]
    csapa = carte["jeux"][0]
    assert csapa["nom"] == "CSAPA (tabacologie)" and csapa["nombre_offres"] == 1


def test_unknown_card_is_a_french_problem(client):
    response = client.get("/api/v1/cartes/addiction-chocolat")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 404
    assert problem["title"] == "Ressource introuvable"
    assert "addiction-chocolat" in problem["detail"] and "n'existe pas" in problem["detail"]


def test_unknown_path_and_method_are_french_problems(client):
    response = client.get("/api/v1/nulle-part")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Aucune ressource")
    response = client.delete("/api/v1/cartes")
    assert response.status_code == 405
    assert "DELETE" in response.json()["detail"]


def test_openapi_documents_the_endpoints(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/themes", "/api/v1/cartes", "/api/v1/cartes/{slug}"} <= set(paths)
