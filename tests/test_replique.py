"""A real streaming replica behind ``DATABASE_READ_URL``.

What a user relies on: the public reads are served by the replica and the writes by the
primary; an ARS moderator or editor sees their own write at once (read-your-writes), and
when the replica stops, the service keeps answering from the primary.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from cartographie import comptes
from cartographie.db import make_engine
from cartographie.embedded import EmbeddedCluster
from cartographie.settings import Settings

STRASBOURG = {"lat": 48.58, "lon": 7.75}


@pytest.fixture
def replica(cluster: EmbeddedCluster, ingest_engine: Engine) -> Iterator[EmbeddedCluster]:
    """A standby of the test cluster, following it by streaming replication."""
    standby = EmbeddedCluster(base_dir=cluster.base_dir / "replique", os_user=cluster.os_user)
    shutil.rmtree(standby.base_dir, ignore_errors=True)
    standby.create_standby(cluster)
    standby.start()
    try:
        yield standby
    finally:
        standby.stop()
        shutil.rmtree(standby.base_dir, ignore_errors=True)


def on_replica(replica: EmbeddedCluster, database: str, sql: str):
    engine = make_engine(replica.url(database))
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def caught_up(replica: EmbeddedCluster, database: str, primary: Engine) -> None:
    with primary.connect() as connection:
        target = connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
    deadline = time.monotonic() + 30
    while on_replica(replica, database, f"SELECT pg_last_wal_replay_lsn() >= '{target}'") \
            is not True:
        assert time.monotonic() < deadline, "la réplique ne rattrape pas la base principale"
        time.sleep(0.1)


def test_reads_by_the_replica_writes_by_the_primary_and_failover(
        replica, ingest_engine, settings):
    database = ingest_engine.url.database
    assert on_replica(replica, database, "SELECT pg_is_in_recovery()") is True
    with ingest_engine.begin() as connection:
        moderator = comptes.add_user(connection, "replique-moderateur", "ars_moderateur", "44")
        editor = comptes.add_user(connection, "replique-editeur", "ars_editeur", "44")
    caught_up(replica, database, ingest_engine)
    on_replica(replica, database, "SELECT pg_wal_replay_pause()")  # the replica lags behind

    app = create_app(Settings(database_url=ingest_engine.url.render_as_string(False),
                              database_read_url=replica.url(database)))
    public, moderating, editing = TestClient(app), TestClient(app), TestClient(app)
    created = editing.post("/api/v1/contributions/offres",
                           headers={"Authorization": f"Bearer {editor}"},
                           json={"nom": "Atelier nutrition du quartier", "cartes": ["nutrition"],
                                 **STRASBOURG})
    assert created.status_code == 201, created.text  # written by the primary
    offer = created.json()["id"]
    published = moderating.post(f"/api/v1/contributions/offres/{offer}/publication",
                                headers={"Authorization": f"Bearer {moderator}"})
    assert published.status_code == 200, published.text

    # The public reads the replica, which has not replayed the publication yet...
    assert public.get(f"/api/v1/offres/{offer}").status_code == 404
    # ...while the moderator, who just wrote, reads the primary and sees it at once.
    assert moderating.get(f"/api/v1/offres/{offer}").status_code == 200
    cards = moderating.get("/api/v1/offres", params={"carte": "nutrition", **STRASBOURG})
    assert offer in [o["id"] for o in cards.json()["offres"]]
    renamed = editing.patch(f"/api/v1/contributions/offres/{offer}",
                            headers={"Authorization": f"Bearer {editor}"},
                            json={"nom": "Atelier nutrition de la Krutenau"})
    assert renamed.status_code == 200, renamed.text
    assert editing.get(f"/api/v1/offres/{offer}").json()["nom"] == (
        "Atelier nutrition de la Krutenau")

    on_replica(replica, database, "SELECT pg_wal_replay_resume()")
    caught_up(replica, database, ingest_engine)
    assert public.get(f"/api/v1/offres/{offer}").json()["nom"] == (
        "Atelier nutrition de la Krutenau")  # replayed: the public sees it from the replica

    replica.stop()
    for _ in range(3):  # reads fail over to the primary: the service stays up
        answer = public.get(f"/api/v1/offres/{offer}")
        assert answer.status_code == 200 and answer.json()["id"] == offer
    assert public.get("/api/v1/themes").status_code == 200
    app.state.engine.dispose()
    app.state.read_routing.replica.dispose()
