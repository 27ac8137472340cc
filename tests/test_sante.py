"""Health endpoints and a database that is down: 503 with Retry-After, never a 500, and the
same keep-alive connection answers normally once the database is back."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from cartographie.db import make_engine
from tests.conftest import running

UNREACHABLE = "postgresql+psycopg://cartographie@/cartographie?host=/nonexistent-socket-dir"


def test_liveness_and_readiness_on_a_live_database(client):
    assert client.get("/sante").json() == {"statut": "vivant"}
    ready = client.get("/sante/pret")
    assert ready.status_code == 200 and ready.json()["statut"] == "pret"


def test_database_down_is_a_french_503_with_retry_after(settings):
    app = create_app(settings, engine=make_engine(UNREACHABLE))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/sante").status_code == 200  # alive: do not restart it
        for path in ("/sante/pret", "/api/v1/offres?carte=nutrition", "/api/v1/themes",
                     "/ogc/collections", "/tiles/5/16/11.mvt"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["retry-after"] == "30"
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "momentanément injoignable" in response.json()["detail"]
        page = client.get("/cartes/nutrition")
        assert page.status_code == 503 and page.headers["retry-after"] == "30"
        assert page.headers["content-type"].startswith("text/html")
        assert "momentanément injoignable" in page.text


def test_keep_alive_connection_survives_the_outage(settings, engine):
    """The same HTTP connection gets the 503, then real answers when the database is back."""
    app = create_app(settings, engine=make_engine(UNREACHABLE))
    with running(app) as url, httpx.Client(base_url=url) as http:
        down = http.get("/api/v1/themes")
        assert down.status_code == 503 and down.headers.get("connection") != "close"
        app.state.read_routing.primary = engine  # the database is back
        app.state.write_session_factory.configure(bind=engine)
        back = http.get("/api/v1/themes")
        assert back.status_code == 200 and len(back.json()) == 7
        assert http.get("/sante/pret").status_code == 200
