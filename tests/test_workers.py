"""``cartographie serve --workers 2``: two processes that share only the database.

What a user relies on: an offer an ARS publishes is seen at once, whichever process answers
the next request (cached totals and tiles are keyed by the data version in the database,
never by anything a process remembers on its own).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_cache import CARD, add_offer_on_the_card
from tests.test_cli import BIN, free_port

PARIS_TILE = "/tiles/5/16/11.mvt"  # z5 aggregated tile over Paris, kept per data version
TOTAL = f"/api/v1/offres?carte={CARD}&age=30&limit=1"  # kept per data version too


def worker_pids(server: subprocess.Popen) -> set[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return {int(pid) for pid in children}


@pytest.fixture
def two_workers(ingest_engine) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": ingest_engine.url.render_as_string(hide_password=False)}
    server = subprocess.Popen(
        [str(BIN / "cartographie"), "serve", "--port", str(port), "--workers", "2"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/v1/themes", timeout=5)
                if len(worker_pids(server)) >= 2:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("le service à deux processus n'a pas démarré")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def ask(base: str, path: str) -> httpx.Response:
    """One request on a fresh connection: the kernel hands it to either worker."""
    with httpx.Client(base_url=base, timeout=10) as client:
        return client.get(path)


def test_a_write_is_seen_by_every_worker_at_once(two_workers, ingest_engine):
    answers = [(ask(two_workers, TOTAL).json()["total"], ask(two_workers, PARIS_TILE).status_code)
               for _ in range(20)]  # both workers now hold the total and the empty tile
    assert set(answers) == {(0, 204)}
    with ingest_engine.begin() as connection:  # an ARS publication, committed elsewhere
        offer_id = add_offer_on_the_card(connection)
    answers = [(ask(two_workers, TOTAL).json()["total"], ask(two_workers, PARIS_TILE).status_code)
               for _ in range(20)]
    assert set(answers) == {(1, 200)}
    card_total = ask(two_workers, f"/api/v1/offres?carte={CARD}&lat=48.85&lon=2.35").json()
    assert card_total["total"] == 1 and card_total["offres"][0]["id"] == offer_id
