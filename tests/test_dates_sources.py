"""The date of a source's data: « vérifiées le … par une source nationale » says the day the
source's data describes (its extraction date), not the day we read the file; a source with no
date is said « lue le … ». Real file names, the real national FINESS FHIR file and the real
vaccination list; the etalab CSV in its documented layout (formats.md §1.1)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import itertools
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from cartographie import verification
from ingest import dates
from ingest.catalog import ingest
from tests.test_ingest_formats import DATA, DEMO_VACCINATION, commune_of, real_csapas, structureet
from tests.test_ingest_national import NATIONAL as NATIONAL_FHIR

TODAY = dt.date(2026, 12, 2)


@pytest.mark.parametrize(("location", "expected"), [
    ("../shared/data/finess/finess-etalab-20210108-fhir.ndjson.gz", dt.date(2021, 1, 8)),
    ("etalab-cs1100507-stock-20260512-0336.csv", dt.date(2026, 5, 12)),
    ("exemple-finess-structures-journalier-20240905.json", dt.date(2024, 9, 5)),
    ("/srv/extraits-20250101/ror_2026-03-04.ndjson", dt.date(2026, 3, 4)),  # folders not read
    ("centres-vaccination-covid-2021-03.csv", None),  # a month is not a day
    ("https://www.data.gouv.fr/fr/datasets/r/2ce43ade-8d2c-4d1d-81da-ca06c82abc68", None),
    ("PS_LibreAcces_Personne_activite_202612010000.txt", None),  # digits run on: not a day
    ("extrait-20211341.csv", None),
])
def test_the_date_in_a_real_file_name(location, expected):
    assert dates.from_name(location) == expected


def test_the_file_s_own_date_beats_its_name_which_beats_its_rows_and_nothing_is_invented():
    stated, latest = dt.date(2026, 5, 12), dt.date(2026, 5, 4)
    name = "etalab-cs1100507-stock-20260513-0337.csv"
    assert dates.choose(stated, name, latest, TODAY) == dates.DataDate(stated, dates.FROM_CONTENT)
    assert dates.choose(None, name, latest, TODAY).selon == dates.FROM_NAME
    assert dates.choose(None, "x.csv", latest, TODAY) == dates.DataDate(latest, dates.FROM_ROWS)
    assert dates.choose(None, "x.csv", None, TODAY) is None
    # a date after today or before 2000 is not believed
    assert dates.choose(dt.date(2027, 1, 1), "x-19990101.csv", None, TODAY) is None


def run_date(engine) -> tuple[dt.date | None, str | None]:
    with engine.connect() as connection:
        return tuple(connection.execute(text(
            "SELECT donnees_du, donnees_du_selon FROM run ORDER BY id DESC LIMIT 1")).one())


def national_slice(target: Path, lines: int = 4000) -> Path:
    """The first lines of the real national FINESS FHIR export (8 January 2021)."""
    with gzip.open(NATIONAL_FHIR, "rb") as source, gzip.open(target, "wb") as out:
        out.writelines(itertools.islice(source, lines))
    return target


@pytest.mark.skipif(not NATIONAL_FHIR.is_file(), reason=f"{NATIONAL_FHIR} absent")
def test_the_2021_national_fhir_extract_shows_2021_and_is_to_review(ingest_engine, settings,
                                                                   tmp_path):
    path = national_slice(tmp_path / NATIONAL_FHIR.name)
    ingest(ingest_engine, "finess", str(path), DATA)
    assert run_date(ingest_engine) == (dt.date(2021, 1, 8), dates.FROM_NAME)
    with ingest_engine.connect() as connection:
        offer_id, region, card = connection.execute(text(
            "SELECT o.id, o.code_region, m.carte_slug FROM offre o "
            "JOIN carte_offre m ON m.offre_id = o.id WHERE o.statut = 'publiee' "
            "ORDER BY o.id LIMIT 1")).one()
        total, rows = verification.to_review(connection, region, limit=10_000)
    assert offer_id in {r["id"] for r in rows}  # five years old: « à revoir »
    with TestClient(create_app(settings, engine=ingest_engine)) as client:
        offer = client.get(f"/api/v1/offres/{offer_id}").json()
        sheet = client.get("/orientation/fiche", params={
            "code_commune": offer["code_commune"], "age": 30, "cartes": card}).text
    assert offer["verifie_le"].startswith("2021-01-08") and offer["verifie_par"] == "source"
    assert "Informations vérifiées le 08/01/2021 par une source nationale" in sheet
    assert f"le {dt.date.today():%d/%m/%Y} par une source" not in sheet


def test_without_a_dated_name_the_most_recent_row_dates_the_fhir_file(ingest_engine, tmp_path):
    path = national_slice(tmp_path / "export.ndjson.gz")
    ingest(ingest_engine, "finess", str(path), DATA)
    with ingest_engine.connect() as connection:
        latest = connection.execute(text(
            "SELECT max(normalise #>> '{attributs,date_maj}') FROM source_record")).scalar_one()
    assert run_date(ingest_engine) == (dt.date.fromisoformat(latest), dates.FROM_ROWS)
    assert dt.date(2020, 1, 1) <= dt.date.fromisoformat(latest) <= dt.date(2021, 1, 8)


def test_the_etalab_csv_header_dates_its_data(ingest_engine, tmp_path):
    csapa = real_csapas(1)[0]
    lines = ["finess;etalab;111;2026-05-12",
             structureet(csapa, commune_of(ingest_engine, csapa["lon"], csapa["lat"]))]
    path = tmp_path / "etalab-cs1100507-stock-20260513-0337.csv"  # the header wins
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    report = ingest(ingest_engine, "finess", str(path), DATA)
    assert report.lus == 1  # the stated date is not a row
    assert run_date(ingest_engine) == (dt.date(2026, 5, 12), dates.FROM_CONTENT)


def test_the_vaccination_list_is_dated_by_its_latest_edit(ingest_engine):
    with DEMO_VACCINATION.open(encoding="utf-8", newline="") as handle:
        latest = max(row["_edit_datemaj"][:10] for row in csv.DictReader(handle, delimiter=";"))
    ingest(ingest_engine, "vaccination", str(DEMO_VACCINATION), DATA)
    assert run_date(ingest_engine) == (dt.date.fromisoformat(latest), dates.FROM_ROWS)


def test_a_source_without_a_date_is_only_said_read(ingest_engine, settings, tmp_path):
    header, first, *_ = DEMO_VACCINATION.read_text(encoding="utf-8").splitlines()
    cells = header.split(";")
    undated = first.split(";")
    undated[cells.index("_edit_datemaj")] = ""
    path = tmp_path / "lieux.csv"
    path.write_text(f"{header}\n{';'.join(undated)}\n", encoding="utf-8")
    ingest(ingest_engine, "vaccination", str(path), DATA)
    assert run_date(ingest_engine) == (None, None)
    with ingest_engine.connect() as connection:
        offer_id = connection.execute(text("SELECT id FROM offre")).scalar_one()
    with TestClient(create_app(settings, engine=ingest_engine)) as client:
        offer = client.get(f"/api/v1/offres/{offer_id}").json()
        sheet = client.get("/orientation/fiche", params={
            "code_commune": offer["code_commune"], "age": 30,
            "cartes": "vaccination-adulte"}).text
    assert offer["verifie_par"] == "source_non_datee"
    assert dt.datetime.fromisoformat(offer["verifie_le"]).date() == dt.date.today()
    assert (f"Informations lues le {dt.date.today():%d/%m/%Y} dans une source nationale "
            "(date de ses données inconnue)") in sheet
