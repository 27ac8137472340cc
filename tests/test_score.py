"""The quality score of an offer: in the API, filterable, summarised per card and région, on
the real Grand Est demo data; its freshness decays with the age of the last confirmation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from cartographie import qualite
from cartographie.score import SCORE


def freshness(verifie_le: str) -> int:
    """20 points under 6 months, none after 3 years, linear between (docs/fiabilite.md)."""
    days = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(verifie_le)).total_seconds() / 86400
    return round(20 * min(1, max(0, (1095 - days) / (1095 - 180))))


def expected_score(offer: dict) -> int:
    """The documented score, recomputed from the offer as the API gives it: its freshness is
    that of its last confirmation, the date of its source's data (the demo's FINESS extract and
    vaccination list are of 2021: no freshness left)."""
    if offer["mode"] == "a_distance":
        position = 25
    elif offer["lat"] is None:
        position = 0
    else:
        position = 5 if offer["precision_geo"] == "commune" else 25
    reachable = offer["site_web"] or offer["reservation_url"] or any(
        c.get("valeur") and c.get("type") != "email" for c in offer["contacts"] or [])
    hours = offer["horaires"]
    return (position + (20 if reachable else 0)
            + (0 if not hours else 5 if "unknown" in hours else 15)
            + (10 if offer["public_age_min"] is not None or offer["public_age_max"] is not None
               or offer["public_publics"] else 0)
            + (10 if len((offer["description"] or "").strip()) >= 30 else 0)
            + freshness(offer["verifie_le"]))


@pytest.fixture(scope="module")
def marne(demo_client) -> list[dict]:
    body = demo_client.get("/api/v1/offres", params={"code_departement": "51",
                                                      "limit": 1000}).json()
    assert body["total"] == len(body["offres"]) > 50
    return body["offres"]


def test_every_offer_carries_its_documented_score(marne):
    for offer in marne:
        assert offer["score_qualite"] == expected_score(offer), offer["id"]
    assert len({o["score_qualite"] for o in marne}) > 2  # it tells offers apart


def test_score_min_keeps_exactly_the_offers_at_or_above(demo_client, marne):
    threshold = sorted(o["score_qualite"] for o in marne)[len(marne) // 2]
    body = demo_client.get("/api/v1/offres", params={
        "code_departement": "51", "score_min": threshold, "limit": 1000}).json()
    assert {o["id"] for o in body["offres"]} == {
        o["id"] for o in marne if o["score_qualite"] >= threshold}
    assert body["total"] == len(body["offres"]) < len(marne)
    refused = demo_client.get("/api/v1/offres", params={"score_min": 101})
    assert refused.status_code == 422 and "score_min" in refused.json()["detail"]


def test_one_offer_says_what_it_lacks(demo_client, marne):
    without_hours = next(o for o in marne if not o["horaires"])
    detail = demo_client.get(f"/api/v1/offres/{without_hours['id']}").json()["qualite"]
    assert sum(detail["parties"].values()) == detail["score"] == without_hours["score_qualite"]
    assert detail["parties"]["horaires"] == 0 and "horaires" in detail["manque"]
    assert detail["maximum"]["fraicheur"] == 20 and sum(detail["maximum"].values()) == 100


@pytest.mark.parametrize(("age", "fraicheur"), [
    ("1 month", 20), ("6 months", 20), ("2 years", 8), ("3 years", 0), ("5 years", 0)])
def test_freshness_decays_with_the_age_of_the_last_confirmation(connection, age, fraicheur):
    offer_id = connection.execute(text(
        "INSERT INTO offre (nom, statut, mode, geom, precision_geo, description, horaires, "
        "contacts, public_age_min, maj_le) VALUES ('Centre de test', 'publiee', 'sur_place', "
        "ST_SetSRID(ST_MakePoint(4.03, 49.25), 4326), 'adresse', "
        "'Consultations de dépistage sans rendez-vous pour tous', 'Mo-Fr 09:00-17:00', "
        "'[{\"type\": \"telephone\", \"valeur\": \"03 26 00 00 00\"}]', 18, "
        "now() - CAST(:age AS interval)) RETURNING id"), {"age": age}).scalar_one()
    score = connection.execute(text(f"SELECT {SCORE} FROM offre o WHERE o.id = :id"),
                               {"id": offer_id}).scalar_one()
    assert score == 80 + fraicheur


def test_scores_are_summarised_per_card_and_region(demo_engine, marne):
    with demo_engine.connect() as connection:
        grand_est = qualite.scores(connection, "44")
        lowest = qualite.lowest(connection, "44", limit=5)
    (name, offers, mean, below), = grand_est["score_par_region"]
    assert name == "Grand Est" and offers > len(marne) and 0 < mean <= 100
    vaccination = next(r for r in grand_est["score_par_carte"]
                       if r[0] == "Vaccination des adultes")
    assert vaccination[1] > 0 and vaccination[3] <= vaccination[1]
    assert [o["score"] for o in lowest] == sorted(o["score"] for o in lowest)
    assert all(o["manque"] for o in lowest) and lowest[0]["score"] <= min(
        o["score_qualite"] for o in marne)
