"""The national FINESS file: complete, repeatable, and safe when the process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ingest.catalog import ingest

DATA = Path(__file__).resolve().parent.parent / "data"
NATIONAL = (Path(__file__).resolve().parents[2] / "shared" / "data" / "finess"
            / "finess-etalab-20210108-fhir.ndjson.gz")
DEMO = DATA / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"

pytestmark = pytest.mark.skipif(not NATIONAL.is_file(), reason=f"{NATIONAL} absent")


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(text("""
            SELECT statut, count(*) FROM offre GROUP BY statut
            UNION ALL SELECT 'sans_commune', count(*) FROM offre WHERE code_region IS NULL
            UNION ALL SELECT 'regions', count(DISTINCT code_region) FROM offre
        """)).all())


def test_national_file_twice_gives_the_same_counts(ingest_engine):
    first = ingest(ingest_engine, "finess", str(NATIONAL), DATA)
    after_first = counts(ingest_engine)
    second = ingest(ingest_engine, "finess", str(NATIONAL), DATA)
    assert first.lus == second.lus == 95_333
    # 2021 file: 36,144 prevention establishments (471 of them CMP filed under their
    # hospital's category), all placed in their commune and région.
    assert 35_500 < first.counts["inseres"] < 36_500
    assert after_first["sans_commune"] == 0
    # 13 metropolitan régions, Guadeloupe, Martinique, Guyane, La Réunion, Saint-Barthélemy and
    # Saint-Martin: this 2021 file has no establishment in Mayotte (no 976 postcode at all).
    assert after_first["regions"] == 19
    assert second.counts["inseres"] == second.counts["mis_a_jour"] == 0
    assert second.counts["inchanges"] == first.counts["inseres"]
    assert counts(ingest_engine) == after_first


def test_kill_9_while_publishing_leaves_published_data_unchanged(ingest_engine,
                                                                  ingest_database_url):
    ingest(ingest_engine, "finess", str(DEMO), DATA)
    before = counts(ingest_engine)
    binary = Path(sys.executable).parent / "cartographie"
    process = subprocess.Popen(
        [str(binary), "ingest", "finess", str(NATIONAL), "--accepter-retraits"],
        env={**os.environ, "DATABASE_URL": ingest_database_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        with ingest_engine.connect() as watcher:
            while time.monotonic() < deadline and process.poll() is None:
                publishing = watcher.execute(text("""
                    SELECT count(*) FROM pg_stat_activity
                    WHERE query LIKE '%INSERT INTO source_record%' AND state = 'active'
                      AND pid <> pg_backend_pid()
                """)).scalar_one()
                watcher.rollback()
                if publishing:
                    break
                time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert counts(ingest_engine) == before

    report = ingest(ingest_engine, "finess", str(DEMO), DATA)
    assert report.counts["inseres"] == 0 and report.counts["inchanges"] > 0
    with ingest_engine.connect() as connection:
        interrupted = connection.execute(text("""
            SELECT statut, message FROM run WHERE id < :run ORDER BY id DESC LIMIT 1
        """), {"run": report.run_id}).one()
    assert interrupted.statut == "echoue" and "interrompue" in interrupted.message
