"""The write side is safe: roles × régions × actions, credentials, CSRF, hostile input,
formula injection in exports, upload size — on the real PostGIS, each test rolled back."""

from __future__ import annotations

import csv
import io
import math

import httpx
import pytest
from sqlalchemy import text

from cartographie import comptes
from cartographie.geocodage import GeocodeurGeoplateformeLot, GeocodeurLocal, ban_index

STRASBOURG = (7.75, 48.58)  # Grand Est (44)
TOULOUSE = (1.44, 43.60)  # Occitanie (76)
REGION_POINTS = {"44": STRASBOURG, "76": TOULOUSE}


@pytest.fixture
def tokens(connection) -> dict[str, str]:
    accounts = {"admin": ("admin", None), "editeur": ("ars_editeur", "44"),
                "moderateur": ("ars_moderateur", "44"), "editeur_occitanie": ("ars_editeur", "76")}
    return {name: comptes.add_user(connection, f"test-{name}", role, region)
            for name, (role, region) in accounts.items()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def draft_in(connection, region: str, statut: str = "brouillon") -> int:
    lon, lat = REGION_POINTS[region]
    return connection.execute(text("""
        INSERT INTO offre (nom, statut, origine, region_contributrice, code_region, geom,
                           retiree_le, motif_retrait)
        VALUES ('Offre de test', :statut, 'ars', :region, :region,
                ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
                CASE WHEN :statut = 'retiree' THEN now() END,
                CASE WHEN :statut = 'retiree' THEN 'retirée par l''ARS' END)
        RETURNING id
    """), {"statut": statut, "region": region, "lon": lon, "lat": lat}).scalar_one()


def act(client, connection, token: str, action: str, region: str, admin: bool):
    lon, lat = REGION_POINTS[region]
    query = f"?region={region}" if admin and action == "creer" else ""
    if action == "creer":
        return client.post(f"/api/v1/contributions/offres{query}", headers=bearer(token),
                           json={"nom": "Atelier marche", "cartes": ["activite-physique"],
                                 "lat": lat, "lon": lon})
    offer = draft_in(connection, region, "retiree" if action == "restaurer" else "brouillon")
    path = f"/api/v1/contributions/offres/{offer}"
    if action == "modifier":
        return client.patch(path, headers=bearer(token), json={"horaires": "Mo 09:00-12:00"})
    if action == "publier":
        return client.post(f"{path}/publication", headers=bearer(token))
    if action == "retirer":
        return client.delete(path, headers=bearer(token))
    return client.post(f"{path}/restauration", headers=bearer(token))


ACTIONS = ("creer", "modifier", "publier", "retirer", "restaurer")
SUCCESS = {"creer": 201, "modifier": 200, "publier": 200, "retirer": 200, "restaurer": 200}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("region", ["44", "76"])
@pytest.mark.parametrize("role", ["editeur", "moderateur", "admin"])
def test_security_matrix_roles_regions_actions(client, connection, tokens, role, region,
                                               action):
    """A Grand Est account acts only in Grand Est; only moderators and admins publish."""
    response = act(client, connection, tokens[role], action, region, admin=role == "admin")
    allowed = role == "admin" or (region == "44" and (action != "publier"
                                                       or role == "moderateur"))
    expected = SUCCESS[action] if allowed else 403
    assert response.status_code == expected, response.text
    if not allowed:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "région" in response.json()["detail"] or "modérateur" in response.json()["detail"]


def test_refused_write_changes_nothing_and_allowed_write_is_audited(client, connection, tokens):
    offer = draft_in(connection, "76")
    before = connection.execute(text("SELECT count(*) FROM audit")).scalar_one()
    assert client.delete(f"/api/v1/contributions/offres/{offer}",
                         headers=bearer(tokens["editeur"])).status_code == 403
    assert connection.execute(text("SELECT statut FROM offre WHERE id = :id"),
                              {"id": offer}).scalar_one() == "brouillon"
    assert client.delete(f"/api/v1/contributions/offres/{offer}?motif=fermée",
                         headers=bearer(tokens["editeur_occitanie"])).status_code == 200
    entry = connection.execute(text("""
        SELECT a.action, a.avant, a.apres, u.nom FROM audit a
        JOIN utilisateur u ON u.id = a.utilisateur_id ORDER BY a.id DESC LIMIT 1
    """)).one()
    assert connection.execute(text("SELECT count(*) FROM audit")).scalar_one() == before + 1
    assert entry.action == "retrait" and entry.nom == "test-editeur_occitanie"
    assert entry.avant["statut"] == "brouillon" and entry.apres["statut"] == "retiree"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer cart_inconnu"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"},
                                     {"Authorization": "Bearer "}])
def test_no_or_bad_token_is_401_in_french(client, headers):
    response = client.post("/api/v1/contributions/offres", headers=headers,
                           json={"nom": "x", "cartes": ["nutrition"], "lat": 48.58, "lon": 7.75})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Authentification requise"


def test_revoked_token_and_its_sessions_are_401(client, connection, tokens):
    login = client.post("/api/v1/session", json={"jeton": tokens["editeur"]})
    assert login.status_code == 200
    comptes.revoke_user(connection, "test-editeur")
    assert client.get("/api/v1/contributions/conflits",
                      headers=bearer(tokens["editeur"])).status_code == 401
    assert client.get("/api/v1/contributions/conflits").status_code == 401  # the cookie
    assert client.post("/api/v1/session", json={"jeton": tokens["editeur"]}).status_code == 401


def test_token_is_stored_hashed_and_shown_once(connection, tokens):
    stored = connection.execute(text("""
        SELECT j.empreinte, j.prefixe FROM jeton j JOIN utilisateur u ON u.id = j.utilisateur_id
        WHERE u.nom = 'test-editeur'
    """)).one()
    token = tokens["editeur"]
    assert stored.empreinte == comptes.digest(token) and token not in stored.empreinte
    assert token.startswith(stored.prefixe) and len(stored.prefixe) < len(token) / 3


def test_session_cookie_is_httponly_strict_and_writes_need_csrf(client, tokens):
    login = client.post("/api/v1/session", json={"jeton": tokens["editeur"]})
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    csrf = login.json()["csrf"]
    offer = {"nom": "Atelier cuisine", "cartes": ["nutrition"], "lat": 48.58, "lon": 7.75}
    url = "/api/v1/contributions/offres"
    missing = client.post(url, json=offer)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    assert client.post(url, json=offer, headers={"X-CSRF-Token": "faux"}).status_code == 403
    assert client.post(url, json=offer, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.get("/api/v1/contributions/conflits").status_code == 200  # reads: no CSRF
    assert client.request("DELETE", "/api/v1/session",
                          headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/contributions/conflits").status_code == 401


HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "'; DROP TABLE offre; --",
    "Robert'); DELETE FROM utilisateur WHERE ('1'='1",
    "‮gnp.exe",  # right-to-left override
    "{{7*7}} ${7*7} %s %n",
    "Zoë 💉 \u200b café",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_strings_are_stored_and_returned_as_plain_text(client, connection, tokens,
                                                               payload):
    created = client.post("/api/v1/contributions/offres", headers=bearer(tokens["editeur"]),
                          json={"nom": payload, "description": payload, "cartes": ["nutrition"],
                                "lat": 48.58, "lon": 7.75})
    assert created.status_code == 201, created.text
    offer = created.json()["id"]
    client.post(f"/api/v1/contributions/offres/{offer}/publication",
                headers=bearer(tokens["moderateur"]))
    shown = client.get(f"/api/v1/offres/{offer}")
    assert shown.headers["content-type"] == "application/json"
    assert shown.json()["nom"] == " ".join(payload.split())
    assert shown.json()["description"] == payload
    assert connection.execute(text("SELECT count(*) FROM utilisateur")).scalar_one() == 4


@pytest.mark.parametrize("values, message", [
    ({"nom": "a\x00b"}, "caractère nul"),
    ({"nom": "x" * 301}, "au plus 300"),
    ({"site_web": "javascript:alert(1)"}, "https://"),
    ({"cartes": ["cardiologie"]}, "inconnue"),
    ({"lat": 0.0, "lon": 0.0}, "hors de France"),
])
def test_invalid_values_are_refused_in_french(client, tokens, values, message):
    offer = {"nom": "Atelier", "cartes": ["nutrition"], "lat": 48.58, "lon": 7.75, **values}
    response = client.post("/api/v1/contributions/offres", headers=bearer(tokens["editeur"]),
                           json=offer)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_csv_export_neutralises_formulas(client, tokens):
    hostile = {"nom": "=HYPERLINK(\"http://evil\",\"clic\")", "description": "+SUM(A1:A9)",
               "adresse": "-2+3", "horaires": "@SUM(1)", "cartes": ["nutrition"],
               "lat": 48.58, "lon": 7.75}
    assert client.post("/api/v1/contributions/offres", headers=bearer(tokens["editeur"]),
                       json=hostile).status_code == 201
    export = client.get("/api/v1/contributions/offres.csv", headers=bearer(tokens["editeur"]))
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff")), delimiter=";"))
    row = next(r for r in rows if "HYPERLINK" in r["nom"])
    assert row["nom"] == "'=HYPERLINK(\"http://evil\",\"clic\")"
    assert row["description"] == "'+SUM(A1:A9)" and row["adresse"] == "'-2+3"
    assert row["horaires"] == "'@SUM(1)"
    for exported in rows:
        for column in ("nom", "description", "adresse", "horaires", "telephone"):
            assert not exported[column].startswith(("=", "+", "-", "@"))


def test_export_of_another_region_is_refused(client, tokens):
    response = client.get("/api/v1/contributions/offres.csv?region=76",
                          headers=bearer(tokens["editeur"]))
    assert response.status_code == 403


def test_upload_size_limit(client, tokens, settings):
    client.app.state.settings = settings.model_copy(update={"contributions_taille_max": 1000})
    big = ("nom;cartes;latitude;longitude\n" + "Atelier;nutrition;48.58;7.75\n" * 100).encode()
    response = client.post("/api/v1/contributions/import?dry_run=true",
                           headers=bearer(tokens["editeur"]),
                           files={"fichier": ("gros.csv", big, "text/csv")})
    assert response.status_code == 413
    assert "volumineux" in response.json()["detail"]


def test_audit_is_for_admins_and_the_regions_moderators(client, connection, tokens):
    for region, token in (("44", tokens["editeur"]), ("76", tokens["editeur_occitanie"])):
        lon, lat = REGION_POINTS[region]
        client.post("/api/v1/contributions/offres", headers=bearer(token),
                    json={"nom": f"Atelier {region}", "cartes": ["nutrition"], "lat": lat,
                          "lon": lon})
    assert client.get("/api/v1/audit", headers=bearer(tokens["editeur"])).status_code == 403
    seen = client.get("/api/v1/audit", headers=bearer(tokens["moderateur"])).json()
    assert seen["total"] == 1 and seen["entrees"][0]["code_region"] == "44"
    entry = seen["entrees"][0]
    assert entry["utilisateur"] == "test-editeur" and entry["action"] == "creation"
    assert entry["avant"] is None and entry["apres"]["nom"] == "Atelier 44"
    assert client.get("/api/v1/audit?region=76",
                      headers=bearer(tokens["moderateur"])).status_code == 403
    everything = client.get("/api/v1/audit", headers=bearer(tokens["admin"])).json()
    assert {e["code_region"] for e in everything["entrees"]} == {"44", "76"}


def test_users_need_a_region_unless_admin(connection):
    with pytest.raises(comptes.CompteError, match="rattaché à une région"):
        comptes.add_user(connection, "sans-region", "ars_editeur", None)
    with pytest.raises(comptes.CompteError, match="région inconnue"):
        comptes.add_user(connection, "mauvaise-region", "ars_editeur", "99")


# -- geocoding of rows without coordinates ---------------------------------------------


def test_paris_ban_gives_address_then_street_then_commune_precision(client, connection, tokens,
                                                                   settings):
    geocoder = GeocodeurLocal(connection, ban_index(settings.resolved_ban_dir))
    address = geocoder.geocode("41 rue de Rivoli, 75001 Paris")
    assert address.precision == "adresse"
    assert (address.lon, address.lat) == (2.347911, 48.858495)  # the BAN point of n° 41
    street = geocoder.geocode("4000 Rue de Rivoli, 75001 Paris")
    assert street.precision == "voie" and abs(street.lat - 48.86) < 0.01
    town = geocoder.geocode("12 impasse imaginaire, 75001 Paris")
    assert town.precision == "commune" and town.code_commune == "75056"
    created = client.post("/api/v1/contributions/offres?region=11",
                          headers=bearer(tokens["admin"]),
                          json={"nom": "Point santé Rivoli", "cartes": ["depistage"],
                                "adresse": "41 r. de Rivoli", "code_postal": "75001",
                                "ville": "Paris"})
    assert created.status_code == 201 and created.json()["precision_geo"] == "adresse"
    moved = client.patch(f"/api/v1/contributions/offres/{created.json()['id']}",
                         headers=bearer(tokens["admin"]), json={"adresse": "7 impasse inconnue"})
    assert moved.json()["precision_geo"] == "commune"
    assert "centre de la commune" in moved.json()["avertissements"][0]


def test_geoplateforme_batch_backend_reads_its_csv_answer():
    answer = ("q,latitude,longitude,result_label,result_type,result_citycode\n"
              "\"1 rue X, 67000 Strasbourg\",48.58,7.75,1 Rue X 67000 Strasbourg,"
              "housenumber,67482\n"
              "nulle part,,,,,\n")
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        return httpx.Response(200, text=answer)

    geocoder = GeocodeurGeoplateformeLot(
        "https://data.geopf.fr/geocodage/search",
        client=httpx.Client(transport=httpx.MockTransport(handler)))
    found = geocoder.geocode_many(["1 rue X, 67000 Strasbourg", "nulle part"])
    assert seen["url"] == "https://data.geopf.fr/geocodage/search/csv"
    assert found[0].precision == "adresse" and found[0].code_commune == "67482"
    assert found[1] is None


# -- strong keys never reach across régions ----------------------------------------------

PHARMACIE_SIRET = "77567227221234"


def national_offer_in(connection, region: str, siret: str = PHARMACIE_SIRET,
                      nom: str = "Pharmacie du Capitole") -> int:
    """A published national offer (as FINESS would give it) carrying a public SIRET."""
    lon, lat = REGION_POINTS[region]
    return connection.execute(text("""
        INSERT INTO offre (nom, statut, origine, code_region, geom, precision_geo, attributs,
                           contacts, provenance)
        VALUES (:nom, 'publiee', 'national', :region, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
                'adresse', jsonb_build_object('siret', CAST(:siret AS text)),
                '[{"type": "telephone", "valeur": "05 61 00 00 00"}]',
                '{"nom": "finess", "geom": "finess", "contacts": "finess"}')
        RETURNING id
    """), {"nom": nom, "region": region, "lon": lon, "lat": lat, "siret": siret}).scalar_one()


def offer_state(connection, offer: int):
    return connection.execute(text("""
        SELECT nom, code_region, statut, contacts, ST_X(geom) AS lon, ST_Y(geom) AS lat
        FROM offre WHERE id = :id
    """), {"id": offer}).one()


def contribute(client, token: str, how: str, values: dict):
    """The same offer sent by the API or as a one-row import file."""
    if how == "api":
        return client.post("/api/v1/contributions/offres", headers=bearer(token), json=values)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(values), delimiter=";")
    writer.writeheader()
    writer.writerow({k: "|".join(v) if isinstance(v, list) else v for k, v in values.items()})
    return client.post("/api/v1/contributions/import?dry_run=false", headers=bearer(token),
                       files={"fichier": ("ligne.csv", buffer.getvalue().encode(), "text/csv")})


@pytest.mark.parametrize("how", ["api", "import"])
def test_a_siret_of_another_region_never_takes_over_its_offer(client, connection, tokens, how):
    """A Grand Est editor sending an Occitanie pharmacy's (public) SIRET from Strasbourg gets a
    draft of Grand Est; the Occitanie offer keeps its name, phone, place and région."""
    occitanie = national_offer_in(connection, "76")
    before = offer_state(connection, occitanie)
    lon, lat = STRASBOURG
    response = contribute(client, tokens["editeur"], how, {
        "nom": "Pharmacie reprise", "cartes": ["vaccination-adulte"], "siret": PHARMACIE_SIRET,
        "telephone": "03 88 00 00 00", "site_web": "https://exemple.fr",
        "latitude": str(lat), "longitude": str(lon)})
    assert response.status_code in (200, 201), response.text
    line = response.json() if how == "api" else response.json()["lignes"][0]
    assert line["resultat"] == "creee" and line["id" if how == "api" else "offre_id"] != occitanie
    assert offer_state(connection, occitanie) == before
    assert connection.execute(text("""
        SELECT count(*) FROM decision_fusion WHERE offre_id = :id
    """), {"id": occitanie}).scalar_one() == 0
    still_theirs = client.patch(f"/api/v1/contributions/offres/{occitanie}",
                                headers=bearer(tokens["editeur_occitanie"]),
                                json={"horaires": "Mo-Sa 09:00-19:00"})
    assert still_theirs.status_code == 200, still_theirs.text  # Occitanie still manages it


def test_a_siret_of_the_region_joins_its_offer_but_moves_it_only_a_short_way(
        client, connection, tokens):
    """Within its région an editor's row with the same SIRET is the same establishment; its
    values correct the offer, but a position 60 km away does not move it (warning)."""
    offer = national_offer_in(connection, "44", nom="Pharmacie de la Cathédrale")
    response = contribute(client, tokens["editeur"], "import", {
        "nom": "Pharmacie de la Cathédrale", "cartes": ["vaccination-adulte"],
        "siret": PHARMACIE_SIRET, "telephone": "03 88 11 22 33",
        "latitude": "48.0790", "longitude": "7.3585"})  # Colmar, still Grand Est
    line = response.json()["lignes"][0]
    assert line["resultat"] == "doublon" and line["offre_id"] == offer, line
    state = offer_state(connection, offer)
    assert state.code_region == "44" and state.statut == "publiee"
    assert (round(state.lon, 2), round(state.lat, 2)) == STRASBOURG
    assert state.contacts[0]["valeur"] == "03 88 11 22 33"
    assert any("lieu non modifié" in w for w in line["avertissements"]), line


def test_an_editor_correction_cannot_move_a_national_offer_far(client, connection, tokens):
    offer = national_offer_in(connection, "44")
    far = client.patch(f"/api/v1/contributions/offres/{offer}", headers=bearer(tokens["editeur"]),
                       json={"lat": 48.0790, "lon": 7.3585})
    assert far.status_code == 422 and "au plus" in far.json()["detail"], far.text
    near = client.patch(f"/api/v1/contributions/offres/{offer}",
                        headers=bearer(tokens["editeur"]), json={"lat": 48.5805, "lon": 7.7505})
    assert near.status_code == 200, near.text
    assert offer_state(connection, offer).code_region == "44"


@pytest.mark.parametrize("column", ["finess", "finess_et", "ror", "identifiant_ror"])
def test_finess_and_ror_keys_cannot_be_sent_by_an_ars(client, tokens, column):
    """FINESS and ROR ids are strong keys of the national sources: an ARS cannot claim one."""
    offer = {"nom": "Atelier", "cartes": ["nutrition"], "lat": 48.58, "lon": 7.75,
             column: "670000000"}
    response = client.post("/api/v1/contributions/offres", headers=bearer(tokens["editeur"]),
                           json=offer)
    assert response.status_code == 422
    csv_file = f"nom;cartes;latitude;longitude;{column}\nAtelier;nutrition;48.58;7.75;670000000\n"
    imported = client.post("/api/v1/contributions/import?dry_run=true",
                           headers=bearer(tokens["editeur"]),
                           files={"fichier": ("f.csv", csv_file.encode(), "text/csv")})
    assert imported.status_code == 422 and "inconnue" in imported.json()["detail"]


# -- nothing unpublished is readable by the public -----------------------------------------


def test_walking_offer_ids_shows_published_offers_only(client, connection, tokens):
    """Ids are sequential: walk them through every public read (offer, provenance, OGC item,
    search, grid, tiles, orientation, sheet, card export); drafts and retired offers of
    the ARS, with an internal note in their description, are never shown."""
    names = {}
    for state in ("brouillon", "publiee", "retiree"):
        created = client.post("/api/v1/contributions/offres", headers=bearer(tokens["editeur"]),
                              json={"nom": f"Atelier secret {state}", "cartes": ["nutrition"],
                                    "description": f"note interne {state}",
                                    "lat": 48.5801, "lon": 7.7501})
        offer = created.json()["id"]
        names[offer] = state
        if state != "brouillon":
            client.post(f"/api/v1/contributions/offres/{offer}/publication",
                        headers=bearer(tokens["moderateur"]))
        if state == "retiree":
            client.delete(f"/api/v1/contributions/offres/{offer}",
                          headers=bearer(tokens["moderateur"]))
    for offer in range(max(1, min(names) - 2), max(names) + 3):
        public = names.get(offer) == "publiee"
        for path in (f"/api/v1/offres/{offer}", f"/api/v1/offres/{offer}/provenance",
                     f"/ogc/collections/offres/items/{offer}",
                     f"/ogc/collections/nutrition/items/{offer}"):
            response = client.get(path)
            assert response.status_code == (200 if public else 404), (path, names.get(offer))
            assert "note interne" not in response.text or public
    z = 14
    x = int((7.7501 + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(48.5801))) / math.pi) / 2 * 2**z)
    reads = [client.get(f"/tiles/{z}/{x}/{y}.mvt").content,
             client.get("/api/v1/offres?lat=48.58&lon=7.75&rayon_km=1&limit=100").content,
             client.get("/api/v1/offres/grille?bbox=7.7,48.5,7.8,48.6").content,
             client.get("/api/v1/orientation?lat=48.58&lon=7.75&cartes=nutrition").content,
             client.get("/orientation/fiche?lieu=48.58,7.75&cartes=nutrition").content,
             client.get("/ogc/collections/nutrition/items?bbox=7.7,48.5,7.8,48.6").content]
    for body in reads:
        assert b"Atelier secret publiee" in body
        assert b"Atelier secret brouillon" not in body and b"Atelier secret retiree" not in body
