"""Temporary closures and hours: an ARS editor attaches them to an offer of its région (API,
audited, région-scoped, French refusals); the public sees them from their first day to their
last (Europe/Paris), never after; « ouvert maintenant » follows them; the orientation skips an
offer closed that day unless its jeu has nothing else. Real PostGIS, real pipeline."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from cartographie import comptes, jeux, temporaire
from tests.test_pages_ars import national_offer

PARIS = ZoneInfo("Europe/Paris")
STRASBOURG = (7.7521, 48.5734)
NEUDORF = (7.7620, 48.5700)
WEEKDAYS = "Mo-Fr 09:00-17:00"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def days(n: int) -> str:
    return (temporaire.today() + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def base(ingest_engine, settings):
    """Two vaccination sites in Strasbourg, an editor of Grand Est and one of Île-de-France."""
    with ingest_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit, utilisateur RESTART IDENTITY CASCADE"))
        found = {
            "kleber": national_offer(connection, settings, "Centre de vaccination Kléber",
                                     *STRASBOURG, horaires="Mo-Su 00:00-24:00"),
            "neudorf": national_offer(connection, settings, "Centre de vaccination Neudorf",
                                      *NEUDORF, horaires="Mo-Su 00:00-24:00"),
            "est": comptes.add_user(connection, "temporaire-est", "ars_editeur", "44"),
            "idf": comptes.add_user(connection, "temporaire-idf", "ars_editeur", "11"),
        }
        jeux.refresh(connection, settings.resolved_data_dir)
    with TestClient(create_app(settings, engine=ingest_engine)) as client:
        found["client"] = client
        yield found


def test_the_state_follows_a_closure_and_temporary_hours():
    closure = [{"genre": "fermeture", "du": "2026-12-01", "au": "2026-12-24", "message": None}]
    at = dt.datetime(2026, 12, 2, 11, tzinfo=PARIS)  # a Wednesday, open by the regular hours
    closed = temporaire.state(WEEKDAYS, closure, "67", at)
    assert (closed.etat, closed.libelle) == ("ferme", "Fermé temporairement jusqu'au 24/12/2026")
    after = temporaire.state(WEEKDAYS, closure, "67", dt.datetime(2026, 12, 28, 11,
                                                                  tzinfo=PARIS))
    assert after.ouvert  # Monday after: the regular hours again
    assert temporaire.state(None, closure, "67", at).etat == "ferme"  # even without hours
    assert temporaire.state(None, closure, "67", dt.datetime(
        2026, 12, 28, 11, tzinfo=PARIS)).libelle == "Horaires inconnus"
    summer = [{"genre": "horaires", "du": "2026-12-01", "au": "2026-12-24",
               "horaires": "Mo-Fr 10:00-12:00"}]
    assert temporaire.state(WEEKDAYS, summer, "67", at).ouvert
    afternoon = temporaire.state(WEEKDAYS, summer, "67", at.replace(hour=15))
    assert afternoon.etat == "ouvre" and afternoon.libelle == "Fermé · ouvre demain à 10 h 00"
    assert temporaire.in_force(summer, dt.date(2026, 12, 25)) == []


def test_an_editor_adds_a_closure_the_public_sees_it_from_its_first_day(base, ingest_engine):
    client, offer = base["client"], base["kleber"]
    url = f"/api/v1/contributions/offres/{offer}/informations-temporaires"
    created = client.post(url, headers=bearer(base["est"]), json={
        "type": "fermeture", "du": days(0), "au": days(10),
        "message": "Travaux <b>urgents</b> : allez au centre de Neudorf"})
    assert created.status_code == 201, created.text
    coming = client.post(url, headers=bearer(base["est"]), json={
        "type": "horaires", "du": days(20), "au": days(30), "horaires": "Mo-Fr 10:00-12:00"})
    assert coming.status_code == 201
    shown = client.get(f"/api/v1/offres/{offer}").json()
    until = dt.date.fromisoformat(days(10)).strftime("%d/%m/%Y")
    # the current one only, not the coming one
    assert [i["genre"] for i in shown["informations_temporaires"]] == ["fermeture"]
    info = shown["informations_temporaires"][0]
    # data, not markup: escaping is the pages' job
    assert info["message"] == "Travaux <b>urgents</b> : allez au centre de Neudorf"
    assert info["libelle"] == f"Fermé temporairement jusqu'au {until}"
    assert shown["ouverture"]["etat"] == "ferme"
    listed = client.get("/api/v1/offres", params={"carte": "vaccination-adulte"}).json()
    by_id = {o["id"]: o for o in listed["offres"]}
    assert by_id[offer]["informations_temporaires"][0]["au"] == days(10)
    assert by_id[base["neudorf"]]["informations_temporaires"] == []
    open_now = client.get("/api/v1/offres", params={
        "carte": "vaccination-adulte", "ouvert_le": dt.datetime.now(PARIS).isoformat()}).json()
    assert offer not in {o["id"] for o in open_now["offres"]}
    assert base["neudorf"] in {o["id"] for o in open_now["offres"]}
    listing = client.get(url, headers=bearer(base["est"])).json()["informations_temporaires"]
    assert [p["etat"] for p in listing] == ["en_cours", "a_venir"]
    # Neudorf closed too: nothing else is near, the printed sheet keeps both and says it.
    assert client.post(f"/api/v1/contributions/offres/{base['neudorf']}/informations-"
                       "temporaires", headers=bearer(base["est"]), json={
                           "type": "fermeture", "du": days(0), "au": days(2)}).status_code == 201
    sheet = client.get("/orientation/fiche", params={
        "code_commune": "67482", "cartes": "vaccination-adulte", "age": 40}).text
    assert sheet.count("Fermé temporairement jusqu") == 2
    assert "Travaux &lt;b&gt;urgents&lt;/b&gt; : allez au centre de Neudorf" in sheet
    with ingest_engine.connect() as connection:
        actions = connection.execute(text(
            "SELECT action, objet_id, code_region FROM audit ORDER BY id")).all()
    assert actions == [("information_temporaire", str(offer), "44")] * 2 + [
        ("information_temporaire", str(base["neudorf"]), "44")]


def test_after_its_last_day_it_is_kept_but_never_shown(base, ingest_engine):
    client, offer = base["client"], base["kleber"]
    url = f"/api/v1/contributions/offres/{offer}/informations-temporaires"
    assert client.post(url, headers=bearer(base["est"]), json={
        "type": "fermeture", "du": days(0), "au": days(1)}).status_code == 201
    with ingest_engine.begin() as connection:  # as if its last day was yesterday
        connection.execute(text("UPDATE information_temporaire SET du = du - 5, au = au - 2"))
    shown = client.get(f"/api/v1/offres/{offer}").json()
    assert shown["informations_temporaires"] == [] and shown["ouverture"]["etat"] == "ouvert"
    history = client.get(url, headers=bearer(base["est"])).json()["informations_temporaires"]
    assert [p["etat"] for p in history] == ["passee"]


def test_cancelled_refused_and_invalid_periods(base, ingest_engine):
    client, offer = base["client"], base["kleber"]
    url = f"/api/v1/contributions/offres/{offer}/informations-temporaires"
    elsewhere = client.post(url, headers=bearer(base["idf"]), json={
        "type": "fermeture", "du": days(0), "au": days(3)})
    assert elsewhere.status_code == 403
    assert elsewhere.headers["content-type"].startswith("application/problem+json")
    assert "hors de votre région" in elsewhere.json()["detail"]
    for body, message in [
        ({"type": "fermeture", "du": days(3), "au": days(1)}, "la fin est avant le début"),
        ({"type": "horaires", "du": days(0), "au": days(1)}, "donnez les horaires"),
        ({"type": "horaires", "du": days(0), "au": days(1), "horaires": "tous les jours"},
         "n'est pas lisible"),
        # an OSM additional rule would open every Saturday of the year, not only in the period
        ({"type": "horaires", "du": days(0), "au": days(1),
          "horaires": "Mo 10:00-12:00, Sa 09:00-10:00"}, "séparez les règles par « ; »"),
        ({"type": "horaires", "du": days(0), "au": days(1),
          "horaires": "Mo 10:00-12:00,Sa 09:00-10:00"}, "séparez les règles par « ; »"),
        ({"type": "fermeture", "du": days(-9), "au": days(-2)}, "déjà finie"),
        ({"type": "fermeture", "du": days(0), "au": days(400)}, "au plus 366 jours"),
    ]:
        refused = client.post(url, headers=bearer(base["est"]), json=body)
        assert refused.status_code == 422 and message in refused.json()["detail"], refused.text
    too_long = client.post(url, headers=bearer(base["est"]), json={
        "type": "fermeture", "du": days(0), "au": days(1), "message": "x" * 201})
    assert too_long.status_code == 422
    period = client.post(url, headers=bearer(base["est"]), json={
        "type": "fermeture", "du": days(0), "au": days(3)}).json()
    assert client.delete(f"{url}/{period['id']}", headers=bearer(base["idf"])).status_code == 403
    assert client.delete(f"{url}/{period['id']}", headers=bearer(base["est"])).status_code == 200
    assert client.get(f"/api/v1/offres/{offer}").json()["informations_temporaires"] == []
    again = client.delete(f"{url}/{period['id']}", headers=bearer(base["est"]))
    assert again.status_code == 404 and "Aucune information temporaire" in again.json()["detail"]
    with ingest_engine.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM information_temporaire WHERE annulee_le IS NOT NULL")
        ).scalar_one() == 1  # kept, dated


def test_orientation_skips_a_closed_offer_unless_nothing_else_is_there(base, ingest_engine):
    client = base["client"]
    params = {"lat": STRASBOURG[1], "lon": STRASBOURG[0], "cartes": "vaccination-adulte",
              "age": 40}

    def shown(**extra) -> list[dict]:
        answer = client.get("/api/v1/orientation", params=params | extra).json()
        return [o for jeu in answer["cartes"][0]["jeux"] for o in jeu["offres"]]

    assert [o["id"] for o in shown()][:2] == [base["kleber"], base["neudorf"]]
    url = f"/api/v1/contributions/offres/{base['kleber']}/informations-temporaires"
    assert client.post(url, headers=bearer(base["est"]), json={
        "type": "fermeture", "du": days(2), "au": days(5)}).status_code == 201
    assert base["kleber"] in [o["id"] for o in shown()]  # not closed today
    assert base["kleber"] not in [o["id"] for o in shown(date=days(3))]  # closed that day
    assert base["neudorf"] in [o["id"] for o in shown(date=days(3))]
    url = f"/api/v1/contributions/offres/{base['neudorf']}/informations-temporaires"
    assert client.post(url, headers=bearer(base["est"]), json={
        "type": "fermeture", "du": days(2), "au": days(6)}).status_code == 201
    both_closed = shown(date=days(3))  # nothing else: kept, saying until when
    assert {o["id"] for o in both_closed} == {base["kleber"], base["neudorf"]}
    assert all(o["ouverture"]["libelle"].startswith("Fermé temporairement jusqu'au")
               for o in both_closed)
    sheet = client.get("/orientation/fiche", params={
        "code_commune": "67482", "cartes": "vaccination-adulte", "age": 40}).text
    assert "Fermé temporairement" not in sheet  # today, neither is closed


def test_a_draft_s_temporary_information_is_not_public(base, ingest_engine):
    from tests.test_contributions_securite import draft_in

    client = base["client"]
    with ingest_engine.begin() as connection:
        draft = draft_in(connection, "44")
    url = f"/api/v1/contributions/offres/{draft}/informations-temporaires"
    assert client.post(url, headers=bearer(base["est"]), json={
        "type": "fermeture", "du": days(0), "au": days(3),
        "message": "Fermeture du brouillon"}).status_code == 201
    assert client.get(f"/api/v1/offres/{draft}").status_code == 404
    everything = client.get("/api/v1/offres", params={"limit": 1000}).text
    assert "Fermeture du brouillon" not in everything


def test_an_import_row_carries_a_closure_checked_and_not_added_twice(base, ingest_engine):
    """The « temporaire_* » columns of the ARS import: a row of an existing offer (found by
    the merge, its name and place) gets its closure; a bad period is that row's error; a
    period already over is skipped with a warning; the same file again adds nothing."""
    client = base["client"]
    lat, lon = STRASBOURG[1], STRASBOURG[0]
    header = ("nom;cartes;latitude;longitude;temporaire_type;temporaire_du;temporaire_au;"
              "temporaire_message")
    rows = [
        f"Centre de vaccination Kléber;vaccination-adulte;{lat};{lon};fermeture;{days(0)};"
        f"{days(7)};Travaux",
        f"Atelier nutrition de Neudorf;nutrition;{NEUDORF[1]};{NEUDORF[0]};fermeture;"
        f"{days(5)};{days(1)};",
        f"Marche nordique de la Robertsau;activite-physique;48.60;7.78;fermeture;"
        f"{days(-10)};{days(-3)};",
    ]
    upload = {"fichier": ("lot.csv", "\n".join([header, *rows]) + "\n", "text/csv")}
    report = client.post("/api/v1/contributions/import?dry_run=false",
                         headers=bearer(base["est"]), files=upload).json()
    by_line = {line["ligne"]: line for line in report["lignes"]}
    assert by_line[2]["offre_id"] == base["kleber"], by_line[2]
    assert by_line[3]["resultat"] == "erreur"
    assert "information temporaire, fin : la fin est avant le début" in by_line[3]["erreurs"]
    assert any("période finie le" in w for w in by_line[4]["avertissements"])
    shown = client.get(f"/api/v1/offres/{base['kleber']}").json()
    assert [(i["genre"], i["au"], i["message"]) for i in shown["informations_temporaires"]] == [
        ("fermeture", days(7), "Travaux")]
    client.post("/api/v1/contributions/import?dry_run=false", headers=bearer(base["est"]),
                files=upload)
    with ingest_engine.connect() as connection:
        assert connection.execute(text(
            "SELECT offre_id FROM information_temporaire")).scalars().all() == [base["kleber"]]
