"""Pro Santé Connect sign-in, against a real local OpenID provider process: authorisation
code flow with PKCE, state and nonce checked, ID token signature verified, RPPS from it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text

from ingest.catalog import ingest
from tests.psc import app_with_provider

DATA = Path(__file__).resolve().parent.parent / "data"
EXTRACTION = (Path(__file__).resolve().parent / "data"
              / "PS_LibreAcces_Personne_activite_202612010000-ESSAI.txt")
RPPS = "10000000001"


@pytest.fixture
def service(ingest_engine):
    ingest(ingest_engine, "annuaire-sante", str(EXTRACTION), DATA)
    with app_with_provider(ingest_engine) as (base, op):
        op.mode("normal")
        yield base, op


def authorise(client: httpx.Client, base: str, rpps: str = RPPS) -> httpx.Response:
    """From « S'identifier » to the provider's answer (not yet followed)."""
    start = client.get(f"{base}/pro/connexion")
    assert start.status_code == 303
    authorize = start.headers["location"]
    form = client.get(authorize)
    assert form.status_code == 200, form.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.text))
    answer = client.post(authorize.split("?")[0], data={**fields, "rpps": rpps})
    assert answer.status_code == 302
    return answer


def test_sign_in_gives_the_professionals_own_places(service):
    base, _ = service
    with httpx.Client() as client:
        start = client.get(f"{base}/pro/connexion")
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["code_challenge"][0] and query["nonce"][0] and query["state"][0]
        assert query["redirect_uri"] == [f"{base}/pro/connexion/retour"]
        callback = authorise(client, base)
        done = client.get(callback.headers["location"])
        assert done.status_code == 303 and done.headers["location"] == "/pro"
        page = client.get(f"{base}/pro")
    assert f"RPPS <strong>{RPPS}</strong>" in page.text
    assert page.text.count('class="bilan-lieu"') == 2  # Paris and Strasbourg
    assert "PHARMACIE ESSAI" not in page.text  # someone else's place


@pytest.mark.parametrize("mode", ["signature_falsifiee", "nonce_faux", "audience_fausse",
                                  "expire"])
def test_a_bad_id_token_is_refused(service, mode):
    base, op = service
    op.mode(mode)
    with httpx.Client() as client:
        callback = authorise(client, base)
        refused = client.get(callback.headers["location"])
        assert refused.status_code == 401
        assert "jeton d&#39;identité" in refused.text
        assert "RPPS <strong>" not in client.get(f"{base}/pro").text


def test_a_forged_or_replayed_answer_is_refused(service):
    base, _ = service
    with httpx.Client() as client:
        callback = authorise(client, base).headers["location"]
        forged = re.sub(r"state=[^&]+", "state=forge", callback)
        assert client.get(forged).status_code == 401
        # The real answer, from another browser (no state cookie): refused too.
        with httpx.Client() as other:
            assert other.get(callback).status_code == 401
        assert client.get(callback).status_code == 303
        # Replayed with its state cookie put back: the sign-in was used once, and only once.
        state = parse_qs(urlsplit(callback).query)["state"][0]
        client.cookies.set("cartographie_pro_etat", state, domain="127.0.0.1", path="/pro")
        replay = client.get(callback)
        assert replay.status_code == 401 and "déjà servi" in replay.text


def test_declarations_need_the_session_and_its_csrf_token(service, ingest_engine):
    base, _ = service
    with ingest_engine.connect() as connection:
        mine, theirs = (connection.execute(text(
            "SELECT id FROM professionnel_activite WHERE rpps = :r ORDER BY id LIMIT 1"),
            {"r": r}).scalar_one() for r in (RPPS, "10000000002"))
    with httpx.Client() as client:
        assert client.post(f"{base}/pro/lieux/{mine}", data={"realise_bilan": "oui"}
                           ).status_code == 401
        client.get(authorise(client, base).headers["location"])
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"{base}/pro").text)[1]
        no_csrf = client.post(f"{base}/pro/lieux/{mine}", data={"realise_bilan": "oui"})
        assert no_csrf.status_code == 403
        other = client.post(f"{base}/pro/lieux/{theirs}",
                            data={"csrf": csrf, "realise_bilan": "oui"})
        assert other.status_code == 403 and "pas l&#39;un des vôtres" in other.text
        bad_link = client.post(f"{base}/pro/lieux/{mine}", data={
            "csrf": csrf, "realise_bilan": "oui", "lien_rdv": "javascript:alert(1)"})
        assert bad_link.status_code == 422 and "https://" in bad_link.text
        assert 'value="javascript:alert(1)"' in bad_link.text  # kept for correction
        ok = client.post(f"{base}/pro/lieux/{mine}", data={
            "csrf": csrf, "realise_bilan": "oui", "lien_rdv": "https://WWW.Essai-RDV.fr/x"})
        assert ok.status_code == 200 and "En attente de publication" in ok.text
    with ingest_engine.connect() as connection:
        stored = connection.execute(text("SELECT rpps, lien_rdv FROM declaration_bilan")).one()
    assert tuple(stored) == (RPPS, "https://www.essai-rdv.fr/x")
