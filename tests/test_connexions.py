"""Logins: failed attempts are slowed (429 in French), a login from another site's page is
refused (Origin), OGC links do not follow the Host header, and errors are in French."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_session
from cartographie import comptes


@pytest.fixture
def token(connection) -> str:
    return comptes.add_user(connection, "test-connexion", "ars_editeur", "44")


@pytest.mark.parametrize("attempt", ["session", "form", "bearer"])
def test_failed_logins_are_slowed_per_address(client, token, attempt):
    def login(jeton: str):
        if attempt == "session":
            return client.post("/api/v1/session", json={"jeton": jeton})
        if attempt == "form":
            return client.post("/ars/connexion", data={"jeton": jeton}, follow_redirects=False)
        return client.get("/api/v1/contributions/conflits",
                          headers={"Authorization": f"Bearer {jeton}"})

    for _ in range(10):
        assert login("cart_mauvais").status_code == 401
    refused = login(token)  # even the right token waits: the address is over its limit
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Trop de tentatives" in refused.text


def test_login_from_another_site_is_refused(client, token):
    evil = {"Origin": "https://site-malveillant.example"}
    assert client.post("/ars/connexion", data={"jeton": token}, headers=evil,
                       follow_redirects=False).status_code == 403
    assert client.post("/api/v1/session", json={"jeton": token},
                       headers=evil).status_code == 403
    own = client.post("/ars/connexion", data={"jeton": token},
                      headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert own.status_code == 303


def test_ogc_links_use_the_public_address_not_the_host_header(client, settings):
    client.app.state.settings = settings.model_copy(
        update={"url_publique": "https://cartographie.example.fr"})
    landing = client.get("/ogc", headers={"Host": "attaquant.example"}).json()
    hrefs = [link["href"] for link in landing["links"]]
    assert hrefs and all(h.startswith("https://cartographie.example.fr/") for h in hrefs)
    assert not any("attaquant" in h for h in hrefs)


def test_without_a_public_address_host_dependent_answers_say_vary_host(
        client, settings, engine, session):
    """A shared cache must not hand links built from one Host header to another client."""
    landing = client.get("/ogc", headers={"Host": "attaquant.example"})
    assert "host" in landing.headers["vary"].lower()
    configured = create_app(settings.model_copy(
        update={"url_publique": "https://cartographie.example.fr"}), engine=engine)
    configured.dependency_overrides[get_session] = lambda: session
    with TestClient(configured) as other:
        assert "vary" not in other.get("/ogc", headers={"Host": "attaquant.example"}).headers


def test_a_body_that_is_not_json_gets_a_french_message(client, token):
    response = client.post("/api/v1/contributions/offres", content=b"\xff\xfe{nom",
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert "There was an error" not in response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_geojson_with_a_bom_and_utf16_csv_get_french_answers(client, token):
    headers = {"Authorization": f"Bearer {token}"}
    geojson = ('\ufeff{"type": "FeatureCollection", "features": [{"type": "Feature", '
               '"geometry": {"type": "Point", "coordinates": [7.75, 48.58]}, '
               '"properties": {"nom": "Atelier", "cartes": "nutrition"}}]}').encode()
    with_bom = client.post("/api/v1/contributions/import?dry_run=true", headers=headers,
                           files={"fichier": ("f.geojson", geojson, "application/geo+json")})
    assert with_bom.status_code == 200 and with_bom.json()["creees"] == 1, with_bom.text
    utf16 = "nom;cartes;latitude;longitude\nAtelier;nutrition;48.58;7.75\n".encode("utf-16")
    refused = client.post("/api/v1/contributions/import?dry_run=true", headers=headers,
                          files={"fichier": ("f.csv", utf16, "text/csv")})
    assert refused.status_code == 422 and "encodage non reconnu" in refused.json()["detail"]
