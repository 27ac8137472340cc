"""Tests run against a real PostGIS: the embedded cluster, schema built by the migrations.

One database (``cartographie_test``) is rebuilt per test session with the shipped territories
and taxonomy; each test then runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_session
from cartographie import migrations, taxonomy, territoires
from cartographie.db import embedded_cluster, make_engine
from cartographie.embedded import EmbeddedCluster
from cartographie.settings import Settings

TEST_DATABASE = "cartographie_test"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(database_url=None)


@pytest.fixture(scope="session")
def cluster(settings: Settings) -> EmbeddedCluster:
    cluster = embedded_cluster(settings)
    cluster.start()
    return cluster


@pytest.fixture(scope="session")
def database_url(cluster: EmbeddedCluster, settings: Settings) -> str:
    """A fresh test database: migrations, then the shipped reference data."""
    if os.environ.get("CARTOGRAPHIE_TEST_KEEP_DB") != "1":
        cluster.drop_database(TEST_DATABASE)
    cluster.ensure_database(TEST_DATABASE)
    url = cluster.url(TEST_DATABASE)
    migrations.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        territoires.load_territoires(connection, settings.resolved_data_dir / "territoires")
        taxonomy.load_taxonomy(
            connection, taxonomy.read_taxonomy(settings.resolved_data_dir / "taxonomie")
        )
    engine.dispose()
    return url


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
    with TestClient(app) as test_client:
        yield test_client
