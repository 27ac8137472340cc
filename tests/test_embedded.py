"""The embedded cluster: created on demand, restartable without losing data, clear errors."""

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from cartographie import embedded
from cartographie.embedded import EmbeddedCluster, EmbeddedDatabaseError


@pytest.fixture
def scratch_cluster() -> EmbeddedCluster:
    # Not pytest's tmp_path: its parents are private to root, the server account must enter.
    folder = Path(tempfile.mkdtemp(prefix="cartographie-embedded-"))
    folder.chmod(0o755)
    cluster = EmbeddedCluster(base_dir=folder / "db", database="essai")
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


def query(cluster: EmbeddedCluster, sql: str) -> list[tuple]:
    with psycopg.connect(
        host=str(cluster.socket_dir), port=embedded.PORT, user=embedded.SUPERUSER,
        dbname=cluster.database, autocommit=True,
    ) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def test_stop_and_start_keeps_the_data(scratch_cluster):
    scratch_cluster.start()
    scratch_cluster.ensure_database()
    query(scratch_cluster, "CREATE TABLE t (v text); INSERT INTO t VALUES ('conservé')")
    assert scratch_cluster.status()["en marche"] == "oui"

    scratch_cluster.stop()
    assert not scratch_cluster.is_running()
    assert scratch_cluster.status()["en marche"] == "non"

    scratch_cluster.start()
    assert query(scratch_cluster, "SELECT v FROM t") == [("conservé",)]


def test_listens_only_on_its_private_socket(scratch_cluster):
    scratch_cluster.start()
    scratch_cluster.ensure_database()
    rows = query(scratch_cluster, "SELECT current_setting('listen_addresses')")
    assert rows == [("",)]
    assert (scratch_cluster.socket_dir / f".s.PGSQL.{embedded.PORT}").exists()
    if os.geteuid() == 0:  # PostgreSQL refuses root: the server runs as its own account
        owner = (scratch_cluster.data_dir / "PG_VERSION").stat().st_uid
        assert owner != 0


def test_postgis_is_available(scratch_cluster):
    scratch_cluster.start()
    scratch_cluster.ensure_database()
    query(scratch_cluster, "CREATE EXTENSION postgis")
    assert query(scratch_cluster, "SELECT ST_AsText(ST_MakePoint(2, 48))") == [("POINT(2 48)",)]


def test_missing_binaries_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(embedded.shutil, "which", lambda name: None)
    with pytest.raises(EmbeddedDatabaseError) as error:
        embedded.find_bindir(debian_root=tmp_path)
    assert "apt-get install postgresql" in str(error.value)
    assert "postgis" in str(error.value)


def test_long_project_paths_get_a_short_socket_folder():
    cluster = EmbeddedCluster(base_dir=Path("/srv/" + "x" * 120))
    assert len(str(cluster.socket_dir)) < embedded.MAX_SOCKET_PATH
