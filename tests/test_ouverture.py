"""« Ouvert maintenant » on the real hours of the vaccination list (Grand Est demo and the
national file), at the edges people meet: lunch breaks, midnight, the two DST changes, public
holidays national and local, the overseas time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from cartographie.ouverture import state_at

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
LUNCH_51 = "Mo-Su 09:00-13:00,14:00-18:00"  # five vaccination sites of the Marne
SATURDAY_MORNING_57 = "Mo-Fr 08:00-17:00; Sa 08:00-12:00"  # Moselle sites


@pytest.fixture(scope="module")
def real_hours(demo_engine) -> dict[str, tuple[int, str]]:
    """Hours as the demo ingestion stored them, with one offer (id, département) each."""
    with demo_engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT DISTINCT ON (horaires) horaires, id, code_departement FROM offre "
            "WHERE statut = 'publiee' AND horaires IS NOT NULL ORDER BY horaires, id"))
        return {r.horaires: (r.id, r.code_departement) for r in rows}


def at(expression: str, departement: str, moment: dt.datetime) -> tuple[str, str]:
    state = state_at(expression, departement, moment)
    return state.etat, state.libelle


def test_the_lunch_break_closes_and_announces_the_reopening(real_hours):
    assert LUNCH_51 in real_hours and real_hours[LUNCH_51][1] == "51"
    friday = dt.date(2026, 12, 4)

    def moment(h: int, m: int) -> dt.datetime:
        return dt.datetime.combine(friday, dt.time(h, m), PARIS)

    assert at(LUNCH_51, "51", moment(8, 59)) == ("ouvre", "Fermé · ouvre à 9 h 00")
    assert at(LUNCH_51, "51", moment(9, 0)) == ("ouvert", "Ouvert · ferme à 13 h 00")
    assert at(LUNCH_51, "51", moment(12, 15)) == ("ferme_bientot", "Ferme bientôt (à 13 h 00)")
    assert at(LUNCH_51, "51", moment(13, 0)) == ("ouvre", "Fermé · ouvre à 14 h 00")
    assert at(LUNCH_51, "51", moment(13, 59)) == ("ouvre", "Fermé · ouvre à 14 h 00")
    assert at(LUNCH_51, "51", moment(14, 0)) == ("ouvert", "Ouvert · ferme à 18 h 00")
    assert at(LUNCH_51, "51", moment(18, 0)) == ("ouvre", "Fermé · ouvre demain à 9 h 00")


def test_midnight_turns_the_day_and_the_week(real_hours):
    assert SATURDAY_MORNING_57 in real_hours
    saturday_night = dt.datetime(2026, 12, 5, 23, 59, 59, tzinfo=PARIS)
    assert at(SATURDAY_MORNING_57, "57", saturday_night) == (
        "ouvre", "Fermé · ouvre lundi à 8 h 00")
    assert at(SATURDAY_MORNING_57, "57", saturday_night + dt.timedelta(seconds=1)) == (
        "ouvre", "Fermé · ouvre demain à 8 h 00")
    assert at(SATURDAY_MORNING_57, "57", dt.datetime(2026, 12, 7, 0, 0, tzinfo=PARIS)) == (
        "ouvre", "Fermé · ouvre à 8 h 00")
    # Hours written up to midnight, and across it, as an ARS may write them.
    assert at("Mo-Fr 20:00-24:00", "75", dt.datetime(2026, 12, 4, 23, 30, tzinfo=PARIS)) == (
        "ferme_bientot", "Ferme bientôt (à minuit)")
    assert at("Fr 22:00-02:00", "75", dt.datetime(2026, 12, 5, 1, 30, tzinfo=PARIS)) == (
        "ferme_bientot", "Ferme bientôt (à 2 h 00)")


def test_daylight_saving_changes_move_the_hours_with_the_clock(real_hours):
    # 29 March 2026: 02:00 CET becomes 03:00 CEST. 07:30 UTC is 09:30 that Sunday (open),
    # and was 08:30 the day before (closed).
    assert at(LUNCH_51, "51", dt.datetime(2026, 3, 29, 7, 30, tzinfo=UTC))[0] == "ouvert"
    assert at(LUNCH_51, "51", dt.datetime(2026, 3, 28, 7, 30, tzinfo=UTC))[0] == "ouvre"
    evening = state_at(LUNCH_51, "51", dt.datetime(2026, 3, 28, 18, 30, tzinfo=PARIS))
    assert evening.libelle == "Fermé · ouvre demain à 9 h 00"
    assert evening.prochain_changement == dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    # 25 October 2026: 03:00 CEST becomes 02:00 CET. 07:30 UTC is 08:30 that Sunday (closed),
    # and was 09:30 the day before (open).
    assert at(LUNCH_51, "51", dt.datetime(2026, 10, 25, 7, 30, tzinfo=UTC))[0] == "ouvre"
    assert at(LUNCH_51, "51", dt.datetime(2026, 10, 24, 7, 30, tzinfo=UTC))[0] == "ouvert"


def test_public_holidays_national_and_local():
    with_holidays = SATURDAY_MORNING_57 + "; PH off"
    bastille_day = dt.datetime(2026, 7, 14, 10, 0, tzinfo=PARIS)  # a Tuesday
    assert at(SATURDAY_MORNING_57, "57", bastille_day)[0] == "ouvert"  # PH not mentioned
    assert at(with_holidays, "57", bastille_day) == ("ouvre", "Fermé · ouvre demain à 8 h 00")
    # Vendredi saint is a holiday in Moselle only: the hours cannot be told there.
    good_friday = dt.datetime(2026, 4, 3, 10, 0, tzinfo=PARIS)
    assert at(with_holidays, "57", good_friday) == (
        "inconnu", "Jour férié local : horaires à confirmer")
    assert at(with_holidays, "51", good_friday)[0] == "ouvert"
    # 22 May, abolition of slavery in Martinique; real hours of the CHUM (national file,
    # gid 228) with the holidays an ARS would add.
    chum = "Mo-Fr 07:30-17:00; Sa 09:00-12:00; PH off"
    may_22 = dt.datetime(2026, 5, 22, 14, 0, tzinfo=UTC)  # 10:00 in Martinique
    assert at(chum, "972", may_22)[0] == "inconnu"
    assert at(chum, "971", may_22)[0] == "ouvert"  # Guadeloupe's day is the 27th


def test_overseas_places_are_read_in_their_own_time_zone():
    # Real hours of the national file: CH de Cayenne (gid 482), CH de Mayotte (gid 1500).
    instant = dt.datetime(2026, 12, 4, 9, 30, tzinfo=UTC)  # 10:30 Paris, 06:30 Cayenne
    assert at("Mo-Fr 07:00-18:00", "973", instant) == ("ouvre", "Fermé · ouvre à 7 h 00")
    assert at("Mo-Fr 07:00-18:00", "67", instant)[0] == "ouvert"
    friday_afternoon = dt.datetime(2026, 12, 4, 12, 30, tzinfo=UTC)  # 15:30 in Mayotte
    state = state_at("Mo-Fr 07:00-15:00", "976", friday_afternoon)
    assert state.libelle == "Fermé · ouvre lundi à 7 h 00"
    assert state.le.utcoffset() == dt.timedelta(hours=3)
    # A time without zone is the place's own time.
    assert at("Mo-Fr 07:00-18:00", "973", dt.datetime(2026, 12, 4, 7, 30))[0] == "ouvert"


def test_hours_nobody_can_tell_are_unknown(real_hours):
    assert "Mo-Fr unknown" in real_hours
    friday = dt.datetime(2026, 12, 4, 10, 0, tzinfo=PARIS)
    assert at("Mo-Fr unknown", "55", friday) == ("inconnu", "Horaires à confirmer")
    assert at(None, "55", friday) == ("inconnu", "Horaires inconnus")
    assert at("lundi 9h-12h", "55", friday) == ("inconnu", "Horaires inconnus")
    assert at("off", "08", friday) == ("ferme", "Fermé")


def test_api_filters_the_offers_open_at_an_instant(demo_client, real_hours):
    lunch_offer = real_hours[LUNCH_51][0]
    params = {"code_departement": "51", "limit": 1000}
    everything = demo_client.get("/api/v1/offres", params=params).json()
    at_lunch = demo_client.get("/api/v1/offres", params={
        **params, "ouvert_le": "2026-12-04T13:30:00+01:00"}).json()
    afternoon = demo_client.get("/api/v1/offres", params={
        **params, "ouvert_le": "2026-12-04T14:30:00+01:00"}).json()
    assert 0 < afternoon["total"] == len(afternoon["offres"]) < everything["total"]
    assert lunch_offer in {o["id"] for o in afternoon["offres"]}
    assert lunch_offer not in {o["id"] for o in at_lunch["offres"]}
    for offer in afternoon["offres"]:
        assert offer["ouverture"]["etat"] in ("ouvert", "ferme_bientot")
        assert offer["ouverture"]["le"] == "2026-12-04T14:30:00+01:00"
    # The open ones are exactly the offers whose hours say so at that instant.
    expected = {o["id"] for o in everything["offres"] if o["horaires"] and state_at(
        o["horaires"], "51", dt.datetime(2026, 12, 4, 14, 30, tzinfo=PARIS)).ouvert}
    assert {o["id"] for o in afternoon["offres"]} == expected


def test_api_open_filter_keeps_paging_distance_order_and_geojson(demo_client):
    params = {"lat": 49.2583, "lon": 4.0317, "ouvert_le": "2026-12-04T14:30:00+01:00"}
    first = demo_client.get("/api/v1/offres", params={**params, "limit": 2}).json()
    second = demo_client.get("/api/v1/offres", params={**params, "limit": 2, "offset": 2}).json()
    both = demo_client.get("/api/v1/offres", params={**params, "limit": 4}).json()
    assert first["total"] == both["total"] >= 4
    assert [o["id"] for o in first["offres"] + second["offres"]] == [
        o["id"] for o in both["offres"]]
    distances = [o["distance_m"] for o in both["offres"]]
    assert distances == sorted(distances)
    geo = demo_client.get("/api/v1/offres", params={**params, "limit": 4, "f": "geojson"}).json()
    assert [f["id"] for f in geo["features"]] == [o["id"] for o in both["offres"]]
    assert all(f["properties"]["ouverture"]["etat"] in ("ouvert", "ferme_bientot")
               for f in geo["features"])


def test_every_offer_says_its_state_now_and_a_bad_instant_is_refused(demo_client, real_hours):
    offer = demo_client.get(f"/api/v1/offres/{real_hours[LUNCH_51][0]}").json()
    assert offer["ouverture"]["etat"] in ("ouvert", "ferme_bientot", "ouvre")
    assert dt.datetime.fromisoformat(offer["ouverture"]["le"]).utcoffset() in (
        dt.timedelta(hours=1), dt.timedelta(hours=2))
    answer = demo_client.get("/api/v1/offres", params={"ouvert_le": "demain midi"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "ouvert_le" in answer.json()["detail"]
