"""Coverage for the ARS on the real Grand Est data, checked against independent computations:
geodesic distances by pyproj, E2SFCA by the PySAL package ``access``, population sums."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from access import Access, weights
from pyproj import Geod
from sqlalchemy import text

from cartographie.couverture import DECAY

GRAND_EST = "44"
CARD = "sante-mentale"
GEOD = Geod(ellps="WGS84")


def offer_points(engine, card: str) -> pd.DataFrame:
    """Published on-site offers of a card, read straight from the tables."""
    with engine.connect() as connection:
        return pd.read_sql(text("""
            SELECT DISTINCT o.id, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat FROM offre o
            JOIN jeu_offre jo ON jo.offre_id = o.id JOIN jeu j ON j.slug = jo.jeu_slug
            WHERE j.carte_slug = :card AND o.statut = 'publiee' AND o.mode = 'sur_place'
        """), connection, params={"card": card})


def commune_points(engine) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(text("""
            SELECT code, code_region, coalesce(population, 0) AS population,
                   ST_X(centre) AS lon, ST_Y(centre) AS lat
            FROM commune WHERE centre IS NOT NULL
        """), connection)


def geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.fixture(scope="module")
def grand_est(demo_client):
    body = demo_client.get("/api/v1/couverture", params={"carte": CARD,
                                                         "code_region": GRAND_EST})
    assert body.status_code == 200
    return body.json()


def test_distances_and_counts_agree_with_pyproj(grand_est, demo_engine):
    offers = offer_points(demo_engine, CARD)
    rows = [r for r in grand_est["communes"] if r["lon"] is not None][::25]  # ~200 communes
    assert len(rows) > 150
    for row in rows:
        d = geodesic_m(np.full(len(offers), row["lon"]), np.full(len(offers), row["lat"]),
                       offers.lon.to_numpy(), offers.lat.to_numpy())
        assert row["distance_km"] == pytest.approx(d.min() / 1000, abs=0.06)
        for km in (10, 20, 30):
            if not np.any(np.abs(d - km * 1000) < 5):  # no offer on the very edge
                assert row[f"offres_{km}km"] == int((d <= km * 1000).sum())


def test_e2sfca_agrees_with_pysal_access(grand_est, demo_engine):
    offers = offer_points(demo_engine, CARD)
    # Offers at one point are one place with several offers, as in the service.
    places = offers.groupby(["lon", "lat"]).size().rename("offres").reset_index()
    places["place"] = range(len(places))
    communes = commune_points(demo_engine)
    west, east = places.lon.min() - 0.6, places.lon.max() + 0.6
    south, north = places.lat.min() - 0.4, places.lat.max() + 0.4
    near = communes[communes.lon.between(west, east) & communes.lat.between(south, north)]
    pairs = near.merge(places, how="cross", suffixes=("", "_offre"))
    pairs["cost"] = geodesic_m(pairs.lon.to_numpy(), pairs.lat.to_numpy(),
                               pairs.lon_offre.to_numpy(), pairs.lat_offre.to_numpy()) / 1000
    pairs = pairs[pairs.cost <= 30]
    model = Access(demand_df=near.set_index("code"), demand_value="population",
                   supply_df=places.set_index("place"), supply_value="offres",
                   cost_df=pairs[["code", "place", "cost"]], cost_origin="code",
                   cost_dest="place", cost_name="cost")
    steps = {limit / 1000: weight for limit, weight in DECAY}
    expected = model.enhanced_two_stage_fca(name="e2sfca", max_cost=30,
                                            weight_fn=weights.step_fn(steps))
    expected = expected["e2sfca_offres"].fillna(0) * 100_000
    ours = {r["code_commune"]: r["acces_e2sfca"] for r in grand_est["communes"]
            if r["lon"] is not None}
    codes = sorted(ours)
    mine = np.array([ours[c] for c in codes])
    theirs = np.array([expected.get(c, 0.0) for c in codes])
    assert (mine > 0).sum() > 3000
    close = np.isclose(mine, theirs, rtol=1e-3, atol=1e-6)
    # A pair exactly on a zone edge may fall either side between chord and geodesic.
    assert close.mean() > 0.995, list(zip(np.array(codes)[~close][:5], mine[~close][:5],
                                          theirs[~close][:5], strict=True))


def test_age_bands_quintiles_and_espaces_add_up_to_the_population(demo_client, demo_engine):
    body = demo_client.get("/api/v1/couverture/eloignement",
                           params={"carte": CARD, "code_region": GRAND_EST}).json()
    with demo_engine.connect() as connection:
        population = connection.execute(text(
            "SELECT sum(population) FROM commune WHERE code_region = '44' "
            "AND centre IS NOT NULL")).scalar_one()
    assert body["population"] == population
    for split in ("par_quintile_fedi", "par_espace", "par_departement"):
        parts = body[split].values() if isinstance(body[split], dict) else body[split]
        assert abs(sum(p["population"] for p in parts) - population) <= len(body[split])
        for km in (10, 20, 30):
            assert abs(sum(p[f"au_dela_{km}km"]["population"] for p in parts)
                       - body[f"au_dela_{km}km"]["population"]) <= len(body[split])
    assert set(body["par_quintile_fedi"]) == {"1", "2", "3", "4", "5"}  # metropolitan région
    # Age bands: each département's shares times its communes (data/couverture, INSEE 2023).
    with open("data/couverture/ages_departements.csv", encoding="utf-8") as handle:
        shares = {r["code_departement"]: r for r in csv.DictReader(handle)}
    for departement in body["par_departement"]:
        share = float(shares[departement["code_departement"]]["part_18_25"])
        beyond = departement["au_dela_10km"]
        assert beyond["tranches_age"]["18_25"]["population"] == pytest.approx(
            beyond["population"] * share, abs=1)
    gap = body["ecart_q5_q1_pts"]["10km"]
    q = body["par_quintile_fedi"]
    assert gap == pytest.approx(q["5"]["au_dela_10km"]["part_pct"]
                                - q["1"]["au_dela_10km"]["part_pct"], abs=0.11)
    assert body["au_dela_10km"]["population"] >= body["au_dela_30km"]["population"]


def test_overseas_communes_say_what_is_missing(demo_client):
    body = demo_client.get("/api/v1/couverture", params={
        "carte": CARD, "code_departement": "973"}).json()
    guyane = body["communes"]
    assert guyane and all(r["quintile_fedi"] is None for r in guyane)
    assert all(any("F-EDI absent" in note for note in r["manques"]) for r in guyane)
    # No offer of the demo (Grand Est) in Guyane: no distance across the ocean.
    assert all(r["distance_km"] is None for r in guyane)
    assert body["manques"]
    far = demo_client.get("/api/v1/couverture/eloignement", params={
        "carte": CARD, "code_departement": "973"}).json()
    assert set(far["par_quintile_fedi"]) == {"inconnu"}
    assert far["ecart_q5_q1_pts"]["10km"] is None


def test_csv_and_geojson(demo_client):
    params = {"carte": CARD, "jeu": "cmp-adultes", "code_departement": "54"}
    csv_answer = demo_client.get("/api/v1/couverture", params={**params, "f": "csv"})
    assert csv_answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_answer.text.lstrip("\ufeff")), delimiter=";"))
    geojson = demo_client.get("/api/v1/couverture", params={**params, "f": "geojson"}).json()
    assert len(rows) == len(geojson["features"]) > 500
    nancy = next(f for f in geojson["features"] if f["id"] == "54395")
    assert nancy["geometry"]["type"] == "Point"
    assert nancy["properties"]["distance_km"] < 5
    assert next(r for r in rows if r["code_commune"] == "54395")["nom"] == "Nancy"


def test_where_to_act_and_what_if_agree(demo_client, demo_engine):
    ranked = demo_client.get("/api/v1/couverture/priorites", params={
        "carte": "activite-physique", "code_departement": "55", "rayon_km": 10,
        "limite": 3}).json()["priorites"]
    assert [r["rang"] for r in ranked] == [1, 2, 3]
    assert ranked[0]["population_ponderee"] >= ranked[1]["population_ponderee"]
    # Heavier weights for the deprived never lower a weighted gain.
    flat = demo_client.get("/api/v1/couverture/priorites", params={
        "carte": "activite-physique", "code_departement": "55", "rayon_km": 10, "limite": 1,
        "poids": "1,1,1,1,1"}).json()["priorites"][0]
    assert flat["population_ponderee"] == flat["population_gagnee"]
    # What if an offer opened at the first place: the people within 10 km, by pyproj.
    first = ranked[0]["code_commune"]
    gained = demo_client.get("/api/v1/couverture/simulation", params={
        "carte": "activite-physique", "code_commune": first}).json()
    communes = commune_points(demo_engine)
    here = communes[communes.code == first].iloc[0]
    d = geodesic_m(np.full(len(communes), here.lon), np.full(len(communes), here.lat),
                   communes.lon.to_numpy(), communes.lat.to_numpy())
    coverage = {r["code_commune"]: r for r in demo_client.get("/api/v1/couverture", params={
        "carte": "activite-physique", "code_region": GRAND_EST}).json()["communes"]}
    within = communes[d <= 10_000]
    far = within[[coverage.get(c, {"offres_10km": 0})["offres_10km"] == 0
                  for c in within.code]]
    assert gained["gain"]["10km"]["population_gagnee"] == far.population.sum()
    bands = gained["gain"]["10km"]["tranches_age_gagnees"]
    assert 0 < sum(bands.values()) < far.population.sum()
    assert sum(gained["gain"]["10km"]["par_quintile_fedi"].values()) == far.population.sum()


@pytest.mark.parametrize(("params", "message"), [
    ({"carte": "inconnue"}, "carte : valeur inconnue"),
    ({"carte": CARD, "jeu": "pharmacies-qui-vaccinent"}, "n'est pas un jeu de la carte"),
    ({"carte": CARD, "code_region": "99"}, "code_region inconnu"),
])
def test_bad_requests_get_a_french_problem(demo_client, params, message):
    answer = demo_client.get("/api/v1/couverture", params=params)
    assert answer.status_code in (404, 422)
    assert answer.headers["content-type"] == "application/problem+json"
    assert message in answer.json()["detail"]


def test_where_to_act_needs_a_territory_and_five_weights(demo_client):
    base = {"carte": CARD, "code_region": GRAND_EST}
    assert "territoire" in demo_client.get("/api/v1/couverture/priorites",
                                           params={"carte": CARD}).json()["detail"]
    assert "5 nombres" in demo_client.get("/api/v1/couverture/priorites",
                                          params={**base, "poids": "1,2"}).json()["detail"]
    assert demo_client.get("/api/v1/couverture/priorites",
                           params={**base, "rayon_km": 15}).status_code == 422


def test_a_publication_changes_the_coverage(client, connection):
    """Recomputed on demand after a write: publishing then retiring an offer in Mende."""
    params = {"carte": "activite-physique", "code_departement": "48"}

    def mende() -> dict:
        body = client.get("/api/v1/couverture", params=params).json()
        return next(r for r in body["communes"] if r["code_commune"] == "48095")

    before = mende()
    assert before["distance_km"] is None and before["offres_10km"] == 0
    offer = connection.execute(text("""
        INSERT INTO offre (nom, statut, geom, code_commune, code_departement, code_region)
        VALUES ('Maison sport-santé de Mende', 'publiee',
                ST_SetSRID(ST_MakePoint(3.4994, 44.5181), 4326), '48095', '48', '76')
        RETURNING id
    """)).scalar_one()
    connection.execute(text("INSERT INTO jeu_offre (jeu_slug, offre_id, raison) "
                            "VALUES ('maisons-sport-sante', :id, 'manuel')"), {"id": offer})
    published = mende()
    assert published["offres_10km"] == 1 and published["distance_km"] < 5
    connection.execute(text("UPDATE offre SET statut = 'retiree', retiree_le = now() "
                            "WHERE id = :id"), {"id": offer})
    assert mende()["offres_10km"] == 0
