"""Tests run against a real PostGIS: the embedded cluster, schema built by the migrations.

One database (``cartographie_test``) is rebuilt per test session with the shipped territories
and taxonomy; each test then runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_session, get_write_session
from cartographie.db import embedded_cluster, make_engine
from cartographie.embedded import EmbeddedCluster
from cartographie.initialisation import initialise
from cartographie.settings import Settings

TEST_DATABASE = "cartographie_test"
INGEST_DATABASE = "cartographie_test_ingest"
# Tables an ingestion writes: emptied before each ingestion test (runs commit for real).
INGESTED_TABLES = (
    "decision_fusion, jeu_offre, offre_type_offre, historique, offre_source, offre, "
    "structure, quarantaine, source_record, run"
)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(database_url=None)


@pytest.fixture(scope="session")
def cluster(settings: Settings) -> EmbeddedCluster:
    cluster = embedded_cluster(settings)
    cluster.start()
    return cluster


def fresh_database(cluster: EmbeddedCluster, settings: Settings, name: str) -> str:
    """A new database built by the migrations, with the shipped territories and taxonomy."""
    cluster.drop_database(name)
    cluster.ensure_database(name)
    url = cluster.url(name)
    initialise(url, settings.resolved_data_dir)
    return url


@pytest.fixture(scope="session")
def database_url(cluster: EmbeddedCluster, settings: Settings) -> str:
    return fresh_database(cluster, settings, TEST_DATABASE)


@pytest.fixture(scope="session")
def ingest_database_url(cluster: EmbeddedCluster, settings: Settings) -> str:
    """A database for tests whose code commits (ingestion runs): never the shared one."""
    return fresh_database(cluster, settings, INGEST_DATABASE)


@pytest.fixture
def ingest_engine(ingest_database_url: str) -> Iterator[Engine]:
    """An empty offer base (reference data kept) for one ingestion test."""
    engine = make_engine(ingest_database_url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {INGESTED_TABLES} RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


@pytest.fixture
def client(settings: Settings, engine: Engine, session: Session) -> Iterator[TestClient]:
    """The real app, reading through the test's transaction."""
    app = create_app(settings, engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_write_session] = lambda: session
    with TestClient(app) as test_client:
        yield test_client


DEMO_DATABASE = "cartographie_test_demo"


@pytest.fixture(scope="session")
def demo_engine(cluster: EmbeddedCluster, settings: Settings, tmp_path_factory) -> Iterator[Engine]:
    """The real Grand Est demo data (FINESS, vaccination sites, synthetic ROR), read-only."""
    from ingest.catalog import ingest
    from tests.synthetic_ror import build

    url = fresh_database(cluster, settings, DEMO_DATABASE)
    engine = make_engine(url)
    data = settings.resolved_data_dir
    ingest(engine, "finess", str(data / "demo" / "finess-grand-est-20210108-fhir.ndjson.gz"),
           data)
    ingest(engine, "vaccination", str(data / "demo" / "centres-vaccination-grand-est-2021-03.csv"),
           data)
    ror = tmp_path_factory.mktemp("ror") / "ror-grand-est-synthetique.ndjson"
    build(ror)
    ingest(engine, "ror", str(ror), data)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def demo_client(settings: Settings, demo_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=demo_engine)) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(app, port: int | None = None) -> Iterator[str]:
    """The app on a loopback port, for clients that speak real HTTP (GDAL, Chromium)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, demo_engine: Engine) -> Iterator[str]:
    """The real app over the demo data, on a loopback port."""
    with running(create_app(settings, engine=demo_engine)) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, chromium_path

    if chromium_path() is None:
        pytest.skip("Chromium absent (paquet Debian « chromium »)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
