"""Bad input is a French 4xx, never a 500: each case a reviewer found giving a 500, on the real
write API and the real PostGIS (each test rolled back, except the concurrency one)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cartographie import comptes, contributions
from ingest import contributions as ars

OFFER = {"nom": "Atelier cuisine", "cartes": ["nutrition"], "lat": 48.58, "lon": 7.75}
CREATE = "/api/v1/contributions/offres"
IMPORT = "/api/v1/contributions/import?dry_run=true"


@pytest.fixture
def tokens(connection) -> dict[str, str]:
    return {"editeur": comptes.add_user(connection, "test-editeur", "ars_editeur", "44"),
            "admin": comptes.add_user(connection, "test-admin", "admin", None)}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def french_4xx(response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"], response.json()["detail"]


def upload(client, token: str, name: str, body: bytes, query: str = ""):
    return client.post(IMPORT + query, headers=bearer(token),
                       files={"fichier": (name, body, "application/octet-stream")})


def only_line(response) -> dict:
    assert response.status_code == 200, response.text
    (line,) = response.json()["lignes"]
    return line


@pytest.mark.parametrize("values, words", [
    ({"identifiant": "a\x00b"}, "identifiant : caractère nul"),
    ({"identifiant": "x" * 20_000}, "identifiant : 20000 caractères, au plus 100"),
    ({"identifiant": "x" * 1_000_000}, "au plus 100"),
    ({"cartes": ["nutri\x00tion"]}, "cartes : caractère nul"),
    ({"nom": {"texte": "Atelier"}}, "nom"),
])
def test_bad_values_in_json_are_422(client, tokens, values, words):
    french_4xx(client.post(CREATE, headers=bearer(tokens["editeur"]), json={**OFFER, **values}),
               422, words)


def test_lone_surrogate_in_nom_is_422(client, tokens):
    body = json.dumps(OFFER).replace('"Atelier cuisine"', '"Atelier \\ud800"')
    response = client.post(CREATE, headers={**bearer(tokens["editeur"]),
                                            "Content-Type": "application/json"}, content=body)
    french_4xx(response, 422, "nom : caractère invalide")


def test_nul_in_a_csv_cell_is_a_row_error(client, tokens):
    body = "identifiant;nom;cartes;latitude;longitude\nab\x00c;Atelier;nutrition;48.58;7.75\n"
    line = only_line(upload(client, tokens["editeur"], "f.csv", body.encode()))
    assert line["resultat"] == "erreur" and "caractère nul" in line["erreurs"][0]


def geojson(features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_nul_in_a_geojson_property_is_a_row_error(client, tokens):
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.75, 48.58]},
               "properties": {"identifiant": "a\x00", "nom": "Atelier", "cartes": "nutrition"}}
    line = only_line(upload(client, tokens["editeur"], "f.geojson", geojson([feature])))
    assert line["resultat"] == "erreur" and "caractère nul" in line["erreurs"][0]


def test_geojson_geometry_as_a_string_is_a_row_error(client, tokens):
    feature = {"type": "Feature", "geometry": "POINT(7.75 48.58)",
               "properties": {"nom": "Atelier", "cartes": "nutrition"}}
    line = only_line(upload(client, tokens["editeur"], "f.geojson", geojson([feature])))
    assert line["resultat"] == "erreur" and "Point" in line["erreurs"][0]


def test_geojson_features_not_a_list_is_422(client, tokens):
    french_4xx(upload(client, tokens["editeur"], "f.geojson", geojson(12)), 422,
               "« features » doit être une liste")


def test_geojson_nested_deep_is_422(client, tokens):
    deep = '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": ' \
           + '{"nom": ' * 100_000 + '1' + '}' * 100_000 + '}]}'
    french_4xx(upload(client, tokens["editeur"], "f.geojson", deep.encode()), 422,
               "trop imbriqué")


def test_csv_cell_over_the_csv_limit_is_422(client, tokens):
    body = "nom;cartes;latitude;longitude\n" + "x" * 140_000 + ";nutrition;48.58;7.75\n"
    french_4xx(upload(client, tokens["editeur"], "f.csv", body.encode()), 422, "cellule")


@pytest.mark.parametrize("how", ["create", "import"])
def test_admin_naming_an_unknown_region_is_422(client, tokens, how):
    if how == "create":
        response = client.post(f"{CREATE}?region=99", headers=bearer(tokens["admin"]), json=OFFER)
    else:
        response = upload(client, tokens["admin"], "f.csv",
                          b"nom;cartes;latitude;longitude\nAtelier;nutrition;48.58;7.75\n",
                          "&region=99")
    french_4xx(response, 422, "région inconnue « 99 »")


@pytest.fixture
def draft(client, tokens) -> int:
    created = client.post(CREATE, headers=bearer(tokens["editeur"]), json=OFFER)
    assert created.status_code == 201
    return created.json()["id"]


@pytest.mark.parametrize("values, words", [
    ({"nom": None}, "nom : obligatoire"),
    ({"cartes": []}, "cartes : au moins une carte"),
    ({"cartes": ["nutrition"] * 100_000}, "au plus 12"),
    ({"cartes": None}, "cartes : au moins une carte"),
])
def test_patch_keeps_what_creation_requires(client, tokens, draft, values, words):
    french_4xx(client.patch(f"{CREATE}/{draft}", headers=bearer(tokens["editeur"]), json=values),
               422, words)


def test_creation_with_too_many_cards_is_422(client, tokens):
    french_4xx(client.post(CREATE, headers=bearer(tokens["editeur"]),
                           json={**OFFER, "cartes": ["nutrition", "depistage"] * 7}),
               422, "au plus 12")


def test_overlapping_bulk_publications_do_not_deadlock(ingest_engine):
    """Two moderators publishing the same drafts in opposite orders: one waits, none fails
    with a deadlock (rows are locked in id order)."""
    with ingest_engine.begin() as setup:
        token = comptes.add_user(setup, "test-moderateur-verrou", "ars_moderateur", "44")
        first, second = setup.execute(text("""
            INSERT INTO offre (nom, statut, origine, code_region, region_contributrice, geom)
            SELECT 'Brouillon ' || n, 'brouillon', 'ars', '44', '44',
                   ST_SetSRID(ST_MakePoint(7.75, 48.58), 4326)
            FROM generate_series(1, 2) n
            RETURNING id
        """)).scalars().all()
    outcome: dict[str, object] = {}
    with ingest_engine.connect() as a, ingest_engine.connect() as b:
        compte = comptes.authenticate(a, token)
        a.commit()  # authenticate noted the token's use; the publishing transaction starts
        contributions.publish(a, compte, [first])

        def other_moderator():
            with b.begin():
                try:
                    outcome["b"] = contributions.publish(b, compte, [second, first])
                except contributions.Refus as exc:
                    outcome["b"] = exc.status

        thread = threading.Thread(target=other_moderator)
        thread.start()
        thread.join(timeout=1.5)  # B now waits for a row A holds
        contributions.publish(a, compte, [second])
        a.commit()
        thread.join(timeout=10)
    assert outcome["b"] == 409  # A published both first: B finds nothing left to publish
    with ingest_engine.begin() as cleanup:
        ids = {"a": first, "b": second, "nom": "test-moderateur-verrou"}
        for statement in (
                "DELETE FROM audit WHERE objet_id IN (CAST(:a AS text), CAST(:b AS text))",
                "DELETE FROM historique WHERE offre_id IN (:a, :b)",
                "DELETE FROM offre WHERE id IN (:a, :b)",
                "DELETE FROM jeton WHERE utilisateur_id IN "
                "(SELECT id FROM utilisateur WHERE nom = :nom)",
                "DELETE FROM utilisateur WHERE nom = :nom"):
            cleanup.execute(text(statement), ids)


# -- imports are bounded -------------------------------------------------------------------


def test_a_small_gzip_of_a_huge_file_is_413(client, tokens):
    """A 4.7 KB gzip once decompressed to 200,000 rows: refused before any work."""
    import gzip

    body = ("nom;cartes;latitude;longitude\n"
            + "Atelier;nutrition;48.58;7.75\n" * 200_000).encode()
    packed = gzip.compress(body)
    assert len(packed) < 50_000 < 5_000_000 < len(body)
    french_4xx(upload(client, tokens["editeur"], "f.csv.gz", packed), 413,
               "une fois décompressé")


def test_more_rows_than_the_limit_is_413(client, tokens, settings):
    client.app.state.settings = settings.model_copy(update={"contributions_lignes_max": 100})
    body = ("nom;cartes;latitude;longitude\n" + "Atelier;nutrition;48.58;7.75\n" * 101).encode()
    french_4xx(upload(client, tokens["editeur"], "f.csv", body), 413, "au plus 100")


def test_a_write_in_one_region_does_not_hold_another_regions_edit(ingest_engine, settings,
                                                                  tmp_path):
    """Locks are per région: while a Grand Est dry run is under way (its transaction open),
    an Occitanie editor's correction goes through at once."""
    from api.app import create_app

    names = ("test-verrou-44", "test-verrou-76")
    with ingest_engine.begin() as setup:
        grand_est = comptes.add_user(setup, names[0], "ars_editeur", "44")
        occitanie = comptes.add_user(setup, names[1], "ars_editeur", "76")
    app = create_app(settings, engine=ingest_engine)
    with TestClient(app) as http, ingest_engine.connect() as holder:
        created = http.post(CREATE, headers=bearer(occitanie),
                            json={**OFFER, "lat": 43.60, "lon": 1.44})
        assert created.status_code == 201, created.text
        compte = comptes.authenticate(holder, grand_est)
        holder.commit()
        big_file = tmp_path / "grand-est.csv"
        big_file.write_text("nom;cartes;latitude;longitude\n"
                            + "Atelier;nutrition;48.58;7.75\n" * 50)
        ars.import_file(holder, big_file, compte=compte, code_region="44", geocoder=None,
                        data_dir=settings.resolved_data_dir, dry_run=True,
                        emplacement="test", empreinte=None)  # transaction still open
        pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # Whatever happens, the Grand Est transaction ends after 8 s: the test cannot hang.
        release = threading.Timer(8, lambda: ingest_engine.connect().execute(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}))
        release.start()
        started = time.monotonic()
        edit = http.patch(f"{CREATE}/{created.json()['id']}", headers=bearer(occitanie),
                          json={"horaires": "Mo 09:00-12:00"})
        waited = time.monotonic() - started
        release.cancel()
        holder.rollback()
        assert edit.status_code == 200, edit.text
        assert waited < 5, f"l'édition en Occitanie a attendu {waited:.1f} s"
    with ingest_engine.begin() as cleanup:
        for statement in ("DELETE FROM audit", "DELETE FROM jeton WHERE utilisateur_id IN "
                          "(SELECT id FROM utilisateur WHERE nom IN (:a, :b))",
                          "DELETE FROM utilisateur WHERE nom IN (:a, :b)"):
            cleanup.execute(text(statement), {"a": names[0], "b": names[1]})
