"""Bulk files (/donnees): the API's offers in CSV, GeoJSON and NDJSON, rebuilt when the data
change, cached by ETag / Last-Modified, gzip when asked, and a change feed of their own."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.routers import donnees
from api.telechargements import COLONNES, TELECHARGEMENTS, Depot
from tests.browser import artifact
from tests.test_browser import DESKTOP

FORMULA = '=HYPERLINK("http://exemple.invalid","cliquez")'


def write(engine, sql: str, **params) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


@pytest.fixture
def files(settings, ingest_engine, tmp_path) -> Iterator[tuple[TestClient, object]]:
    """A committed offer base (publications change the data version) and its service."""
    write(ingest_engine, """
        INSERT INTO offre (nom, statut, geom, code_commune, code_departement, code_region,
                           gratuit, contacts)
        SELECT 'Offre ' || n, CASE WHEN n % 10 = 0 THEN 'brouillon' ELSE 'publiee' END,
               ST_SetSRID(ST_MakePoint(7.0 + n / 1000.0, 48.5), 4326), '67482', '67', '44',
               n % 2 = 0, '[{"type": "telephone", "valeur": "03 88 00 00 00"}]'
        FROM generate_series(1, 60) n
    """)
    write(ingest_engine, "INSERT INTO offre (nom, statut, mode) "
                         "VALUES ('Écoute à distance', 'publiee', 'a_distance'), "
                         "(:formula, 'publiee', 'a_distance')", formula=FORMULA)
    app = create_app(settings.model_copy(update={"telechargements_dir": tmp_path}),
                     engine=ingest_engine)
    with TestClient(app) as client:
        yield client, ingest_engine


def api_offers(client: TestClient, **params) -> list[dict]:
    """Every offer of /api/v1/offres (on site and remote), by cursor, without « ouverture »."""
    cursor, offers = "0", []
    while cursor is not None:
        body = client.get("/api/v1/offres", params={"a_distance": "true", "limit": 1000,
                                                    "curseur": cursor, **params}).json()
        offers += [{k: v for k, v in o.items() if k != "ouverture"} for o in body["offres"]]
        cursor = body["curseur_suivant"]
    return offers


def ndjson(response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines()]


def csv_rows(response) -> list[dict]:
    assert response.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")),
                               delimiter=";"))


def published_ids(engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.scalars(text(
            "SELECT id FROM offre WHERE statut = 'publiee' ORDER BY id")))


def test_the_three_files_are_the_apis_offers(files):
    client, engine = files
    expected = api_offers(client)
    assert [o["id"] for o in expected] == published_ids(engine)  # no draft, remote ones in

    assert ndjson(client.get("/donnees/offres.ndjson")) == expected  # same ids, same fields

    collection = client.get("/donnees/offres.geojson")
    assert collection.headers["content-type"] == "application/geo+json"
    body = collection.json()
    assert body["type"] == "FeatureCollection" and "crs" not in body
    by_id = {o["id"]: o for o in expected}
    for feature in body["features"]:
        offer = by_id[feature["id"]]
        assert feature["properties"] == {k: v for k, v in offer.items()
                                         if k not in ("lon", "lat")}
        assert feature["geometry"] == (None if offer["lon"] is None else
                                       {"type": "Point", "coordinates": [offer["lon"],
                                                                         offer["lat"]]})
    assert [f["id"] for f in body["features"]] == list(by_id)

    sheet = client.get("/donnees/offres.csv")
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="offres.csv"' in sheet.headers["content-disposition"]
    rows = csv_rows(sheet)
    assert list(rows[0]) == list(COLONNES)
    assert [int(r["id"]) for r in rows] == list(by_id)
    first = next(r for r in rows if r["nom"] == "Offre 1")
    assert first["gratuit"] == "non" and first["lat"] == "48.5"
    assert json.loads(first["contacts"]) == [{"type": "telephone", "valeur": "03 88 00 00 00"}]


def test_a_name_starting_with_equals_is_text_in_the_csv(files):
    client, _ = files
    names = [r["nom"] for r in csv_rows(client.get("/donnees/offres.csv"))]
    assert "'" + FORMULA in names and FORMULA not in names
    assert any(o["nom"] == FORMULA for o in ndjson(client.get("/donnees/offres.ndjson")))


def test_etag_and_last_modified_answer_304_until_a_publication(files):
    client, engine = files
    first = client.get("/donnees/offres.ndjson")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"') and first.headers["cache-control"].startswith("public")
    again = client.get("/donnees/offres.ndjson", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/donnees/offres.ndjson",
                      headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/donnees/offres.csv",
                      headers={"If-None-Match": etag}).status_code == 200  # another file
    write(engine, "UPDATE offre SET statut = 'publiee' WHERE nom = 'Offre 10'")
    after = client.get("/donnees/offres.ndjson", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert "Offre 10" in [o["nom"] for o in ndjson(after)]


def test_gzip_when_the_client_accepts_it_plain_otherwise(files):
    client, _ = files
    plain = client.get("/donnees/offres.ndjson", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text.startswith('{"id":')
    raw = client.stream("GET", "/donnees/offres.ndjson", headers={"Accept-Encoding": "gzip"})
    with raw as response:
        assert response.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["vary"]
        compressed = b"".join(response.iter_raw())
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) < len(plain.content) / 3


def test_a_retired_offer_leaves_the_full_file_and_comes_in_the_change_feed(files):
    client, engine = files
    ids = published_ids(engine)
    since = client.get("/donnees/offres.ndjson").headers["prochain-modified-after"]
    retired, edited = ids[0], ids[1]
    write(engine, "UPDATE offre SET statut = 'retiree', retiree_le = now(), maj_le = now() "
                  "WHERE id = :id", id=retired)
    write(engine, "UPDATE offre SET nom = 'Offre renommée', maj_le = now() WHERE id = :id",
          id=edited)
    write(engine, "UPDATE offre SET nom = 'Brouillon modifié', maj_le = now() "
                  "WHERE nom = 'Offre 20'")  # a draft: never shown

    full = ndjson(client.get("/donnees/offres.ndjson"))
    assert retired not in [o["id"] for o in full] and edited in [o["id"] for o in full]

    feed = client.get("/donnees/offres.ndjson", params={"modified_after": since})
    changed = ndjson(feed)
    assert [o["id"] for o in changed] == [retired, edited]
    assert changed[0].keys() == {"id", "statut", "maj_le", "retiree_le"}
    assert changed[0]["statut"] == "retiree" and changed[1]["nom"] == "Offre renommée"
    assert "etag" not in feed.headers and feed.headers["prochain-modified-after"] > since
    # the same semantics as the API's change feed
    assert changed == api_offers(client, modified_after=since)
    rows = csv_rows(client.get("/donnees/offres.csv", params={"modified_after": since}))
    assert [(int(r["id"]), r["statut"]) for r in rows] == [(retired, "retiree"),
                                                           (edited, "publiee")]
    assert rows[0]["nom"] == "" and rows[0]["retiree_le"]
    features = client.get("/donnees/offres.geojson",
                          params={"modified_after": since}).json()["features"]
    assert [f["properties"]["statut"] for f in features] == ["retiree", "publiee"]


def test_processes_building_at_once_build_one_file(files, tmp_path):
    """Two processes share the directory: the second waits for the first's file."""
    _, engine = files
    depots = [Depot(tmp_path / "partage"), Depot(tmp_path / "partage")]
    export = TELECHARGEMENTS[0]
    made = []

    def ask(depot: Depot) -> None:
        with engine.connect() as connection:
            made.append(depot.fichier(connection, export))

    threads = [threading.Thread(target=ask, args=(d,)) for d in depots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made[0] == made[1]
    built = sorted(p.name for p in (tmp_path / "partage").iterdir()
                   if not p.name.startswith("."))
    assert len(built) == 2  # one file and its description: nothing half-written left


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/donnees/offres.xlsx", 404, "Fichier inconnu « offres.xlsx »"),
    ("/donnees/offres.csv?modified_after=hier", 422, "modified_after"),
    ("/donnees/hsds-3.0-tabulaire.zip?modified_after=2026-12-01T00:00:00", 422,
     "toujours complet"),
])
def test_bad_requests_are_refused_in_french(files, path, status, message):
    client, _ = files
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


def test_the_page_lists_each_file_and_the_footer_leads_to_it(files):
    client, engine = files
    html = client.get("/donnees").text  # built within the page's wait: few offers
    for export in TELECHARGEMENTS:
        assert f'href="/donnees/{export.fichier}"' in html
    assert html.count(f"<td class=\"nombre\">{len(published_ids(engine))}</td>") == 4
    assert "Licence Ouverte / Open Licence 2.0 (Etalab)" in html and "FINESS" in html
    assert "modified_after=" in html and "<code>retiree_le</code>" in html
    assert '<a href="/donnees">Téléchargements</a>' in client.get("/").text


def test_the_page_never_waits_long_for_a_file_being_rebuilt(files, monkeypatch):
    """A file slower to build than the page's wait (the country): the previous one is shown,
    marked as being updated, and the link gives the new one."""
    client, engine = files
    client.get("/donnees/offres.csv")
    write(engine, "UPDATE offre SET statut = 'publiee' WHERE nom = 'Offre 10'")
    monkeypatch.setattr(donnees, "PAGE_WAIT_SECONDS", 0)
    html = client.get("/donnees").text
    before = len(published_ids(engine)) - 1
    row = html[html.index('data-format="csv"'):html.index('data-format="geojson"')]
    assert f'<td class="nombre">{before}</td>' in row and "mise à jour en cours" in row
    assert "En préparation" in html  # the other two were never built
    assert len(csv_rows(client.get("/donnees/offres.csv"))) == before + 1


def test_a_person_downloads_the_csv_from_the_page(browser, live_server, demo_client):
    for export in TELECHARGEMENTS:  # built already (the page may not wait for the demo's)
        demo_client.get(f"/donnees/{export.fichier}")
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Téléchargements").click()
    assert page.locator("h1").inner_text() == "Télécharger les offres de prévention"
    page.screenshot(path=str(artifact("donnees.png")), full_page=True)
    with page.expect_download() as download:
        page.locator('#fichiers a[href="/donnees/offres.csv"]').click()
    assert download.value.suggested_filename == "offres.csv"
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    total = demo_client.get("/api/v1/offres", params={"a_distance": "true"}).json()["total"]
    assert len(rows) == total > 1000
    shown = page.locator('#fichiers tr[data-format="csv"] td.nombre').inner_text()
    assert shown.replace("\u202f", "") == str(total)
    context.close()


def test_the_hsds_package_is_listed_and_is_the_hsds_apis(files):
    """The HSDS 3.0 tabular package, beside the three files: the same zip as /hsds/export.zip,
    one service per published offer."""
    client, engine = files
    response = client.get("/donnees/hsds-3.0-tabulaire.zip", headers={"Accept-Encoding": ""})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist())
        services = list(csv.DictReader(io.TextIOWrapper(archive.open("service.csv"), "utf-8")))
    with zipfile.ZipFile(io.BytesIO(client.get("/hsds/export.zip").content)) as archive:
        assert set(archive.namelist()) == names
    assert {"datapackage.json", "service.csv", "location.csv", "service_at_location.csv"} <= names
    assert len(services) == len(published_ids(engine))
