"""Territories from the real COG 2026 and IGN outlines: codes become places, points get codes."""

import gzip
import json

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from cartographie.territoires import commune_place, fill_territory_codes


def test_the_whole_country_is_loaded(connection):
    counts = dict(connection.execute(text("""
        SELECT 'regions', count(*) FROM region UNION ALL
        SELECT 'departements', count(*) FROM departement UNION ALL
        SELECT 'communes', count(*) FROM commune UNION ALL
        SELECT 'communes_avec_contour', count(geom) FROM commune
    """)).all())
    assert counts["regions"] == 26  # 13 metropolitan + 5 DROM + 8 COM
    assert counts["departements"] == 109
    assert counts["communes"] > 34_800
    assert counts["communes_avec_contour"] > 34_800
    population = connection.execute(text("SELECT sum(population) FROM commune")).scalar_one()
    assert 66_000_000 < population < 70_000_000


@pytest.mark.parametrize(
    ("code", "expected_code", "nom", "departement", "region"),
    [
        ("67482", "67482", "Strasbourg", "67", "44"),
        ("75111", "75056", "Paris", "75", "11"),  # arrondissement municipal
        ("01340", "01015", "Arboys en Bugey", "01", "84"),  # former commune, merged
        ("2a004", "2A004", "Ajaccio", "2A", "94"),
        ("97411", "97411", "Saint-Denis", "974", "04"),
    ],
)
def test_a_commune_code_turns_into_a_place(connection, code, expected_code, nom, departement,
                                            region):
    place = commune_place(connection, code)
    assert place is not None
    assert (place.code, place.nom, place.code_departement, place.code_region) == (
        expected_code, nom, departement, region,
    )
    inside = connection.execute(
        text("SELECT ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) FROM commune "
             "WHERE code = :code"),
        {"lon": place.lon, "lat": place.lat, "code": place.code},
    ).scalar_one()
    assert inside


def test_unknown_commune_code_is_no_place(connection):
    assert commune_place(connection, "99999") is None


def insert_offer(connection, nom, lon=None, lat=None, code_commune=None, mode="sur_place"):
    return connection.execute(
        text("""
            INSERT INTO offre (nom, statut, mode, code_commune, geom)
            VALUES (:nom, 'publiee', :mode, :code,
                    ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326))
            RETURNING id
        """),
        {"nom": nom, "lon": lon, "lat": lat, "code": code_commune, "mode": mode},
    ).scalar_one()


def codes(connection, offer_id):
    return connection.execute(
        text("SELECT code_commune, code_departement, code_region FROM offre WHERE id = :id"),
        {"id": offer_id},
    ).one()


def test_offers_get_their_commune_departement_and_region(connection, settings):
    cathedral = insert_offer(connection, "Près de la cathédrale", 7.7509, 48.5818)
    fort_de_france = insert_offer(connection, "Fort-de-France", -61.0742, 14.6037)
    arboys = commune_place(connection, "01015")
    merged = insert_offer(connection, "Code ancien", arboys.lon, arboys.lat, code_commune="01340")
    paris_11 = insert_offer(connection, "Paris 11e", 2.3795, 48.8590, code_commune="75111")
    at_sea = insert_offer(connection, "En mer", -20.0, 45.0)

    left_without = fill_territory_codes(connection)

    assert codes(connection, cathedral) == ("67482", "67", "44")
    assert codes(connection, fort_de_france) == ("97209", "972", "02")
    assert codes(connection, merged) == ("01015", "01", "84")
    assert codes(connection, paris_11) == ("75056", "75", "11")
    assert codes(connection, at_sea) == (None, None, None)
    assert left_without == 1


def finess_positions(settings, count: int) -> list[tuple[str, float, float]]:
    """Real establishment positions from the national FINESS file in ../shared."""
    path = settings.project_dir.parent / "shared" / "data" / "finess" / (
        "finess-etalab-20210108-fhir.ndjson.gz"
    )
    positions = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            resource = json.loads(line)
            if resource.get("resourceType") == "Location" and "position" in resource:
                position = resource["position"]
                positions.append((resource["id"], position["longitude"], position["latitude"]))
                if len(positions) == count:
                    break
    return positions


def test_point_placement_agrees_with_an_independent_spatial_join(connection, settings):
    """PostGIS and geopandas, on the same shipped outlines, place real FINESS points alike."""
    positions = finess_positions(settings, 1500)
    communes = gpd.read_file(
        f"/vsigzip/{settings.resolved_data_dir}/territoires/communes.geojson.gz"
    )[["code", "geometry"]]
    points = gpd.GeoDataFrame(
        {"ressource": [p[0] for p in positions]},
        geometry=[Point(lon, lat) for _, lon, lat in positions],
        crs="EPSG:4326",
    )
    by_geopandas = dict(
        gpd.sjoin(points, communes, predicate="within")[["ressource", "code"]].itertuples(
            index=False
        )
    )
    ids = {ressource: insert_offer(connection, ressource, lon, lat)
           for ressource, lon, lat in positions}
    fill_territory_codes(connection)
    by_postgis = {ressource: codes(connection, offer_id)[0] for ressource, offer_id in ids.items()}

    assert len(by_geopandas) > 0.99 * len(positions)
    disagreements = {r: (c, by_postgis[r]) for r, c in by_geopandas.items() if by_postgis[r] != c}
    assert disagreements == {}
    # Points in the thin gaps between simplified outlines still get the nearest commune.
    assert all(by_postgis[r] for r in ids)
