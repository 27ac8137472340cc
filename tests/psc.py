"""The local OpenID provider process and the app configured to sign in through it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from api.app import create_app
from cartographie.settings import Settings
from tests.conftest import free_port, running

CLIENT_ID = "cartographie-essai"
CLIENT_SECRET = "secret-essai-" + "x" * 20
PROJECT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Fournisseur:
    url: str

    def mode(self, mode: str) -> None:
        httpx.post(f"{self.url}/_essai/mode", json={"mode": mode}).raise_for_status()


@contextmanager
def provider(redirect_uri: str) -> Iterator[Fournisseur]:
    """``tests.oidc_provider`` as its own process on 127.0.0.1, until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider", "--port", str(port), "--client-id",
         CLIENT_ID, "--secret", CLIENT_SECRET, "--redirect-uri", redirect_uri], cwd=PROJECT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/.well-known/openid-configuration").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield Fournisseur(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def app_with_provider(engine, delay_minutes: int = 60) -> Iterator[tuple[str, Fournisseur]]:
    """The real app on a loopback port, signing professionals in through a local provider."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with provider(f"{base}/pro/connexion/retour") as op:
        settings = Settings(database_url=None, url_publique=base, psc_issuer=op.url,
                            psc_client_id=CLIENT_ID, psc_client_secret=CLIENT_SECRET,
                            bilan_delai_publication_minutes=delay_minutes)
        with running(create_app(settings, engine=engine), port=port):
            yield base, op
