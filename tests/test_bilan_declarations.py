"""« Je fais des bilans »: the booking-link rule, who may declare for which place, the delay
and the ARS moderation, and what citizens then read from the API — each test rolled back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from cartographie import bilan, comptes
from cartographie.bilan import LienInvalide, Reponse
from cartographie.comptes import Compte
from cartographie.contributions import Refus

RPPS = "10000000001"
OTHER_RPPS = "10000000002"
STRASBOURG = (7.7521, 48.5734)
NOW = dt.timedelta(0)


@pytest.fixture
def lieux(connection) -> dict[str, int]:
    return insert_places(connection)


def insert_places(connection) -> dict[str, int]:
    """Three places: two of one doctor (Strasbourg, Colmar), one of a pharmacist (Metz)."""
    run = connection.execute(text(
        "INSERT INTO run (source, emplacement) VALUES ('annuaire-sante', 'essai') RETURNING id"
    )).scalar_one()
    rows = {"strasbourg": (RPPS, "10", 7.7521, 48.5734, "67482"),
            "colmar": (RPPS, "10", 7.3579, 48.0794, "68066"),
            "metz": (OTHER_RPPS, "21", 6.1757, 49.1193, "57463")}
    return {name: connection.execute(text("""
        INSERT INTO professionnel_activite (cle, rpps, code_profession, nom, prenom, lieu_nom,
            code_commune, ville, code_region, geom, precision_geo, empreinte, dernier_run_id,
            telephone)
        VALUES (:cle, :rpps, :prof, 'ESSAI', 'Claire', 'Cabinet essai', :commune, :ville, '44',
                ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'commune', 'x', :run,
                '03 88 00 00 01')
        RETURNING id"""), {"cle": f"{rpps}|{name}", "rpps": rpps, "prof": prof, "lon": lon,
                           "lat": lat, "commune": commune, "ville": name.title(), "run": run}
    ).scalar_one() for name, (rpps, prof, lon, lat, commune) in rows.items()}


def moderator(connection, region: str = "44", role: str = "ars_moderateur") -> Compte:
    token = comptes.add_user(connection, f"essai-{role}-{region}", role, region)
    return comptes.authenticate(connection, token)


def public(connection, **where) -> list[dict]:
    return bilan.professionnels(connection, bilan.Recherche(**where))[1]


@pytest.mark.parametrize("raw, normalised", [
    ("https://www.monsite.fr", "https://www.monsite.fr/"),
    ("HTTPS://WWW.MonSite.FR/Rdv?praticien=12#creneaux",
     "https://www.monsite.fr/Rdv?praticien=12#creneaux"),
    ("https://rdv.example.fr:443/a", "https://rdv.example.fr/a"),
    ("https://rdv.example.fr:8443/a", "https://rdv.example.fr:8443/a"),
])
def test_booking_link_is_normalised(raw, normalised):
    assert bilan.lien_rdv(raw) == normalised


@pytest.mark.parametrize("raw, reason", [
    ("http://www.monsite.fr", "https://"),
    ("javascript:alert(1)", "https://"),
    ("JavaScript://www.monsite.fr/%0aalert(1)", "https://"),
    ("www.monsite.fr", "https://"),
    ("/rendez-vous", "https://"),
    ("https://www.mon site.fr", "espace"),
    (" https://www.monsite.fr", "espace"),
    ("https://www.monsite.fr/\n", "espace"),
    ("https://medecin:secret@www.monsite.fr", "identifiant"),
    ("https://medecin@www.monsite.fr", "identifiant"),
    ("https://localhost/rdv", "site réel"),
    ("https://192.168.0.1/rdv", "site réel"),
    ("https:///rdv", "site réel"),
    ("https://www.monsite.fr/" + "a" * 2048, "2048"),
    ("https://[::1/", "illisible"),
])
def test_booking_link_refused_with_a_french_reason(raw, reason):
    with pytest.raises(LienInvalide, match=reason):
        bilan.lien_rdv(raw)


def test_only_the_professional_declares_for_their_places(connection, lieux):
    with pytest.raises(Refus) as refused:
        bilan.declarer(connection, OTHER_RPPS, Reponse(lieux["strasbourg"], True, None), NOW)
    assert refused.value.status == 403
    with pytest.raises(Refus):
        bilan.retirer(connection, OTHER_RPPS, lieux["strasbourg"])
    assert public(connection) == []


def test_nothing_is_public_before_the_delay_or_an_approval(connection, lieux):
    declaration = bilan.declarer(connection, RPPS,
                                 Reponse(lieux["strasbourg"], True, "https://www.essai.fr/"),
                                 dt.timedelta(hours=24))
    assert public(connection) == []
    bilan.valider(connection, moderator(connection), declaration)
    (shown,) = public(connection, lon=STRASBOURG[0], lat=STRASBOURG[1])
    assert shown["lien_rdv"] == "https://www.essai.fr/" and shown["distance_m"] < 100
    # A changed answer waits again; « non » is never shown.
    bilan.declarer(connection, RPPS, Reponse(lieux["strasbourg"], False, None), NOW)
    assert public(connection) == []


def test_moderation_is_for_moderators_of_the_places_region(connection, lieux):
    declaration = bilan.declarer(connection, RPPS, Reponse(lieux["colmar"], True, None),
                                 dt.timedelta(hours=24))
    for compte in (moderator(connection, "76"), moderator(connection, "44", "ars_editeur")):
        with pytest.raises(Refus) as refused:
            bilan.masquer(connection, compte, declaration, "lien trompeur")
        assert refused.value.status == 403
        with pytest.raises(Refus):
            bilan.valider(connection, compte, declaration)
    with pytest.raises(Refus, match="motif"):
        bilan.masquer(connection, moderator(connection), declaration, "  ")


def test_a_hidden_declaration_stays_hidden_and_the_professional_is_told(connection, lieux):
    declaration = bilan.declarer(connection, RPPS, Reponse(lieux["colmar"], True, None), NOW)
    assert len(public(connection)) == 1
    bilan.masquer(connection, moderator(connection), declaration, "Ce cabinet est fermé.")
    assert public(connection) == []
    with pytest.raises(Refus, match="Ce cabinet est fermé"):
        bilan.declarer(connection, RPPS, Reponse(lieux["colmar"], True, None), NOW)
    (colmar,) = [p for p in bilan.lieux(connection, RPPS) if p["id"] == lieux["colmar"]]
    assert colmar["statut"] == "masquee" and colmar["motif_masquage"] == "Ce cabinet est fermé."


def test_withdrawal_and_every_write_is_audited(connection, lieux):
    declaration = bilan.declarer(connection, RPPS, Reponse(lieux["strasbourg"], True, None),
                                 NOW, "127.0.0.1")
    bilan.retirer(connection, RPPS, lieux["strasbourg"], "127.0.0.1")
    assert public(connection) == []
    with pytest.raises(Refus) as refused:
        bilan.retirer(connection, RPPS, lieux["strasbourg"])
    assert refused.value.status == 409
    actions = connection.execute(text("""
        SELECT action, apres->>'rpps' FROM audit WHERE objet_type = 'declaration_bilan'
          AND objet_id = :id ORDER BY id"""), {"id": str(declaration)}).all()
    assert [tuple(a) for a in actions] == [("declarer", RPPS), ("retirer", RPPS)]


def test_api_lists_the_public_professionals_near_a_commune(client, connection, lieux):
    for name in ("strasbourg", "colmar", "metz"):
        rpps = OTHER_RPPS if name == "metz" else RPPS
        bilan.declarer(connection, rpps, Reponse(lieux[name], True, None), NOW)
    answer = client.get("/api/v1/bilan/professionnels",
                        params={"code_commune": "67482", "rayon_km": 100})
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 2  # Metz is 130 km away
    assert [p["ville"] for p in body["professionnels"]] == ["Strasbourg", "Colmar"]
    assert body["professionnels"][0]["profession"] == "Médecin"
    geojson = client.get("/api/v1/bilan/professionnels",
                         params={"profession": "pharmacien", "f": "geojson"})
    assert geojson.headers["content-type"].startswith("application/geo+json")
    (feature,) = geojson.json()["features"]
    assert feature["geometry"]["coordinates"] == [6.1757, 49.1193]
    assert feature["properties"]["profession"] == "Pharmacien"


def test_api_bad_input_is_a_french_problem(client):
    answer = client.get("/api/v1/bilan/professionnels", params={"profession": "dentiste"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    unknown = client.get("/api/v1/bilan/professionnels", params={"code_commune": "99999"})
    assert unknown.status_code == 404 and "commune inconnue" in unknown.json()["detail"]


def test_moderation_api_needs_a_moderator_token(client, connection, lieux):
    declaration = bilan.declarer(connection, RPPS, Reponse(lieux["strasbourg"], True, None),
                                 dt.timedelta(hours=24))
    editor = comptes.add_user(connection, "essai-editeur", "ars_editeur", "44")
    path = f"/api/v1/contributions/bilan/declarations/{declaration}"
    refused = client.post(f"{path}/validation", headers={"Authorization": f"Bearer {editor}"})
    assert refused.status_code == 403 and "modérateur" in refused.json()["detail"]
    assert client.post(f"{path}/validation").status_code == 401
    token = comptes.add_user(connection, "essai-moderateur", "ars_moderateur", "44")
    listed = client.get("/api/v1/contributions/bilan/declarations",
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert [d["id"] for d in listed["declarations"]] == [declaration]
    assert client.post(f"{path}/validation",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert client.get("/api/v1/bilan/professionnels").json()["total"] == 1
    hidden = client.post(f"{path}/masquage", json={"motif": "Lien hors service"},
                         headers={"Authorization": f"Bearer {token}"})
    assert hidden.status_code == 204
    assert client.get("/api/v1/bilan/professionnels").json()["total"] == 0


def test_ogc_collection_of_the_professionals(client, connection, lieux):
    declaration = bilan.declarer(connection, RPPS, Reponse(lieux["colmar"], True, None), NOW)
    bilan.declarer(connection, RPPS, Reponse(lieux["strasbourg"], True, None),
                   dt.timedelta(hours=24))  # not public yet
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert "bilan-professionnels" in ids
    items = client.get("/ogc/collections/bilan-professionnels/items").json()
    assert items["numberMatched"] == 1
    assert items["features"][0]["properties"]["ville"] == "Colmar"
    one = client.get(f"/ogc/collections/bilan-professionnels/items/{declaration}")
    assert one.status_code == 200 and one.json()["id"] == declaration
    hidden = client.get(f"/ogc/collections/bilan-professionnels/items/{declaration + 1}")
    assert hidden.status_code == 404


def test_next_bilan_window_follows_the_persons_age():
    assert bilan.prochaine_tranche(30)[:2] == (45, 50)
    assert bilan.prochaine_tranche(47)[:2] == (60, 65)  # the bilan of 45–50 is being done
    assert bilan.prochaine_tranche(17)[:2] == (18, 25)
    assert bilan.prochaine_tranche(72) is None


def test_orientation_and_home_lead_to_the_bilan(client):
    home = client.get("/")
    assert 'href="/bilan">Faire mon bilan</a>' in home.text
    answer = client.get("/orientation", params={"lieu": "67482", "age": "40",
                                                "cartes": "addiction-tabac"})
    assert "Prochain bilan prévention" in answer.text
    assert "Entre <strong>45 et 50 ans</strong>, dans 5 ans" in answer.text
    assert "/bilan?lieu=Strasbourg%20%2867482%29" in answer.text
    sheet = client.get("/orientation/fiche", params={"lieu": "67482", "age": "40",
                                                     "cartes": "addiction-tabac"})
    assert "Prochain bilan prévention" in sheet.text


def test_citizen_page_lists_and_maps_the_professionals(client, connection, lieux):
    bilan.declarer(connection, RPPS, Reponse(lieux["strasbourg"], True,
                                             "https://www.essai.fr/rdv"), NOW)
    page = client.get("/bilan", params={"lieu": "Strasbourg"})
    assert page.status_code == 200
    assert "de 30 à 45 minutes" in page.text and "De 70 à 75 ans" in page.text
    assert 'href="https://www.essai.fr/rdv"' in page.text and "Tél. 03 88 00 00 01" in page.text
    assert 'src="/bilan/carte?lieu=Strasbourg"' in page.text
    carte = client.get("/bilan/carte", params={"lieu": "Strasbourg"})
    assert carte.status_code == 200 and "Dr Claire ESSAI" in carte.text
    unknown = client.get("/bilan", params={"lieu": "Qqqqzz"})
    assert unknown.status_code == 404 and "introuvable" in unknown.text
