"""The public offer API on the real Grand Est data: filters, order by distance, orientation."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import text

STRASBOURG = (7.7521, 48.5734)  # place Kléber


def metric_distances(points: list[tuple[float, float]], origin: tuple[float, float]) -> list[float]:
    """Distances computed independently: geopandas, Lambert-93 (metres, metropolitan France)."""
    frame = gpd.GeoSeries([Point(p) for p in points], crs=4326).to_crs(2154)
    here = gpd.GeoSeries([Point(origin)], crs=4326).to_crs(2154).iloc[0]
    return list(frame.distance(here))


def test_near_a_point_offers_come_nearest_first(demo_client):
    lon, lat = STRASBOURG
    body = demo_client.get("/api/v1/offres", params={
        "carte": "addiction-tabac", "lon": lon, "lat": lat, "rayon_km": 10, "limit": 50,
    }).json()
    offers = body["offres"]
    assert body["total"] >= len(offers) == 50
    independent = metric_distances([(o["lon"], o["lat"]) for o in offers], STRASBOURG)
    for offer, distance in zip(offers, independent, strict=True):
        assert abs(offer["distance_m"] - distance) < 0.005 * distance + 2
    assert independent == sorted(independent) or all(
        b >= a - 2 for a, b in zip(independent, independent[1:], strict=False))
    assert all("addiction-tabac" in o["cartes"] for o in offers)


def test_filters_combine(demo_client, demo_engine):
    params = {"carte": "sante-mentale", "besoin": "mental-jeunes", "age": 15,
              "code_departement": "67", "gratuit": "true", "limit": 1000}
    body = demo_client.get("/api/v1/offres", params=params).json()
    assert body["total"] == len(body["offres"]) > 0
    for offer in body["offres"]:
        assert offer["code_departement"] == "67" and offer["gratuit"] is True
        assert (offer["public_age_min"] or 0) <= 15 <= (offer["public_age_max"] or 150)
        assert "sante-mentale" in offer["cartes"]
    with demo_engine.connect() as connection:
        expected = connection.execute(text("""
            SELECT count(DISTINCT o.id) FROM offre o
            JOIN jeu_offre jo ON jo.offre_id = o.id
            JOIN besoin_jeu bj ON bj.jeu_slug = jo.jeu_slug AND bj.besoin_slug = 'mental-jeunes'
            WHERE o.statut = 'publiee' AND o.code_departement = '67' AND o.gratuit
              AND coalesce(o.public_age_min, 0) <= 15 AND coalesce(o.public_age_max, 150) >= 15
        """)).scalar_one()
    assert body["total"] >= expected  # need → jeux, plus its kinds of offer on the card


def test_bbox_text_search_paging_and_geojson(demo_client):
    bbox = "7.70,48.55,7.80,48.62"
    first = demo_client.get("/api/v1/offres", params={"bbox": bbox, "limit": 5}).json()
    second = demo_client.get("/api/v1/offres", params={"bbox": bbox, "limit": 5,
                                                       "offset": 5}).json()
    assert first["total"] == second["total"] > 10
    assert not {o["id"] for o in first["offres"]} & {o["id"] for o in second["offres"]}
    for offer in first["offres"]:
        assert 7.70 <= offer["lon"] <= 7.80 and 48.55 <= offer["lat"] <= 48.62
    found = demo_client.get("/api/v1/offres", params={"q": "planification"}).json()
    assert found["total"] > 0
    geojson = demo_client.get("/api/v1/offres", params={"bbox": bbox, "limit": 3},
                              headers={"Accept": "application/geo+json"})
    assert geojson.headers["content-type"].startswith("application/geo+json")
    collection = geojson.json()
    assert collection["type"] == "FeatureCollection" and collection["numberReturned"] == 3
    assert collection["features"][0]["geometry"]["type"] == "Point"


def test_one_offer_with_structure_jeux_cards_and_sources(demo_client, demo_engine):
    with demo_engine.connect() as connection:
        offer_id = connection.execute(text("""
            SELECT offre_id FROM offre_source GROUP BY offre_id
            HAVING count(DISTINCT source) = 2 LIMIT 1""")).scalar_one()
    body = demo_client.get(f"/api/v1/offres/{offer_id}").json()
    assert body["structure"] and body["jeux"] and body["cartes"]
    assert len({s["source"] for s in body["sources"]["enregistrements"]}) == 2
    assert body["sources"]["champs"]["nom"] in ("finess", "ror", "vaccination")
    assert demo_client.get("/api/v1/offres/999999999").status_code == 404


def test_orientation_by_address_jeu_by_jeu_specialised_first(demo_client):
    body = demo_client.get("/api/v1/orientation", params={
        "adresse": "67000 Strasbourg", "cartes": "addiction-tabac,sante-mentale", "age": 47,
    }).json()
    assert body["lieu"]["code_commune"] == "67482"
    tabac, mental = body["cartes"]
    assert tabac["carte"]["slug"] == "addiction-tabac"
    # the card's order: CSAPA first, pharmacies last, each offer saying which jeu brings it
    jeux = [s["jeu"]["slug"] for s in tabac["jeux"]]
    assert jeux[0] == "csapa-tabac" and jeux.index("pharmacies-substituts-nicotiniques") > 0
    origin = (body["lieu"]["lon"], body["lieu"]["lat"])
    for section in tabac["jeux"]:
        assert 1 <= len(section["offres"]) <= 3
        assert all(o["jeu"]["slug"] == section["jeu"]["slug"] for o in section["offres"])
        independent = metric_distances([(o["lon"], o["lat"]) for o in section["offres"]], origin)
        assert [round(d) for d in independent] == sorted(round(d) for d in independent)
        assert section["rayon_km"] * 1000 >= max(independent) - 100
    assert any(r["telephone"] == "39 89" for r in tabac["ressources"])
    # at 47, no jeu for children or the young, and no offer whose public excludes 47
    mental_jeux = {s["jeu"]["slug"] for s in mental["jeux"]}
    assert not mental_jeux & {"cmp-enfants-adolescents", "cmpp", "bapu", "lieux-ecoute-jeunes"}
    for section in mental["jeux"]:
        for offer in section["offres"]:
            assert (offer["public_age_min"] or 0) <= 47 <= (offer["public_age_max"] or 150)
    assert "fil-sante-jeunes" not in {r["slug"] for r in mental["ressources"]}


def test_orientation_for_a_teenager_keeps_youth_services_and_helplines(demo_client):
    body = demo_client.get("/api/v1/orientation", params={
        "code_commune": "67482", "cartes": "sante-mentale", "age": 15}).json()
    card = body["cartes"][0]
    jeux = {s["jeu"]["slug"] for s in card["jeux"]}
    assert "cmp-adultes" not in jeux and "cmp-enfants-adolescents" in jeux
    fil = next(r for r in card["ressources"] if r["slug"] == "fil-sante-jeunes")
    assert fil["public"] == {"age_min": 12, "age_max": 25, "publics": []}


def test_orientation_need_keeps_the_jeux_linked_to_it(demo_client):
    body = demo_client.get("/api/v1/orientation", params={
        "code_commune": "67482", "cartes": "addiction-tabac", "besoins": "tabac-substituts"})
    card = body.json()["cartes"][0]
    assert card["besoin"]["slug"] == "tabac-substituts"
    assert "csapa-tabac" not in {s["jeu"]["slug"] for s in card["jeux"]}
    refused = demo_client.get("/api/v1/orientation", params={
        "code_commune": "67482", "cartes": "addiction-tabac", "besoins": "mental-jeunes"})
    assert refused.status_code == 422
    assert "besoins : « mental-jeunes » n'est pas un besoin des cartes" in refused.text


def test_orientation_widens_the_radius_in_the_countryside(demo_client):
    body = demo_client.get("/api/v1/orientation", params={
        "code_commune": "55029", "cartes": "sante-sexuelle"}).json()  # Beaulieu-en-Argonne
    result = body["cartes"][0]
    assert result["rayon_km"] > 5 and result["jeux"] and all(s["offres"] for s in result["jeux"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 5000}, "limit : la valeur doit être inférieure ou égale à 1000"),
        ({"bbox": "7,48,6,49"}, "bbox : il faut"),
        ({"bbox": "a,b,c,d"}, "bbox : quatre nombres"),
        ({"lat": 48.5}, "lat et lon vont ensemble"),
        ({"lat": 48.5, "lon": 7.7, "rayon_km": 500}, "rayon_km : la valeur doit être"),
        ({"lat": 95, "lon": 7.7}, "lat : la valeur doit être inférieure ou égale à 90"),
        ({"carte": "chocolat"}, "carte : valeur inconnue « chocolat »"),
        ({"code_commune": "'; DROP TABLE offre; --"}, "code_commune : format invalide"),
        ({"q": "x" * 500}, "q : le texte dépasse 200 caractères"),
    ],
)
def test_bad_parameters_get_a_french_problem(demo_client, params, message):
    response = demo_client.get("/api/v1/offres", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert message in response.json()["detail"]


def test_hostile_text_is_only_text(demo_client):
    for value in ("' OR 1=1 --", "<script>alert(1)</script>", "%", "\\", "日本"):
        assert demo_client.get("/api/v1/offres", params={"q": value}).status_code == 200


def test_public_reads_have_etag_and_cache_control(demo_client):
    first = demo_client.get("/api/v1/cartes/addiction-tabac")
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = demo_client.get("/api/v1/cartes/addiction-tabac",
                            headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_nul_character_is_refused_not_a_server_error(demo_client):
    """Found by schemathesis: PostgreSQL text cannot hold U+0000."""
    for path, params in (("/api/v1/orientation", {"cartes": "\x00"}),
                         ("/api/v1/offres", {"q": "a\x00b"})):
        response = demo_client.get(path, params=params)
        assert response.status_code == 422
        assert "caractère nul" in response.json()["detail"]


def test_search_results_carry_the_finess_number_and_source_ids(demo_client, demo_engine):
    """A professional finds an establishment by its FINESS number straight from the list."""
    with demo_engine.connect() as connection:
        offer_id, finess = connection.execute(text("""
            SELECT o.id, s.finess_et FROM offre o JOIN structure s ON s.id = o.structure_id
            WHERE o.statut = 'publiee' AND o.mode = 'sur_place' AND s.finess_et IS NOT NULL
            ORDER BY o.id LIMIT 1""")).one()
        keys = set(connection.execute(text(
            "SELECT source, cle FROM offre_source WHERE offre_id = :id AND actif"),
            {"id": offer_id}).all())
    listed = demo_client.get("/api/v1/offres", params={"limit": 1000}).json()["offres"]
    found = next(o for o in listed if o["id"] == offer_id)
    assert found["finess_et"] == finess
    assert {(i["source"], i["cle"]) for i in found["identifiants"]} == keys
    features = demo_client.get("/api/v1/offres", params={"limit": 1000, "f": "geojson"}).json()
    assert next(f for f in features["features"]
                if f["id"] == offer_id)["properties"]["finess_et"] == finess
