"""Benchmark: a card page in headless Chromium, from navigation to the first offers drawn.

Runs against whatever database the service uses (by default the embedded one: load the
national file first with ``cartographie ingest finess …/finess-etalab-20210108-fhir.ndjson.gz``).
Each run opens a fresh browser context (empty cache), navigates to the card page and reads
the ``offres-dessinees`` performance mark that ``carte.js`` sets when markers or grid
bubbles are on the map: the time a person waits for offers. Basemap tiles are blocked (no
internet here; the offers do not wait for them). Also reports the number of offers in the
view, so the volume is visible next to the time.

Usage: .venv/bin/python benchmarks/page_load.py [--runs 10] [--cartes addiction-tabac,…]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import text  # noqa: E402

from api.app import create_app  # noqa: E402
from cartographie.db import database_url, make_engine  # noqa: E402
from cartographie.settings import get_settings  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.conftest import running  # noqa: E402

DEFAULT_CARDS = "addiction-tabac,vaccination-adulte,sante-mentale,depistage"
VIEWS = {"France entière": "",
         "Strasbourg, 5 km": "?lieu=Strasbourg&lat=48.5734&lon=7.7521&rayon=5"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cartes", default=DEFAULT_CARDS)
    args = parser.parse_args()
    settings = get_settings()
    engine = make_engine(database_url(settings))
    with engine.connect() as connection:
        published = connection.execute(
            text("SELECT count(*) FROM offre WHERE statut = 'publiee'")).scalar_one()
    print(f"{published} offres publiées dans la base mesurée ; {args.runs} chargements par "
          "ligne, contexte de navigateur neuf à chaque fois.\n")
    print("| carte | vue | mode | offres dans la vue | p50 | p95 | max |")
    print("|---|---|---|---:|---:|---:|---:|")
    with running(create_app(settings, engine=engine)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for card in args.cartes.split(","):
            for view, query in VIEWS.items():
                times, mode, status = [], "", ""
                for _ in range(args.runs):
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    page.route("**/tile.openstreetmap.org/**", lambda route: route.abort())
                    page.goto(f"{url}/cartes/{card}{query}")
                    page.wait_for_selector("#carte[data-mode]", state="attached", timeout=30000)
                    times.append(page.evaluate(
                        "() => performance.getEntriesByName('offres-dessinees')[0].startTime"))
                    mode = page.get_attribute("#carte", "data-mode")
                    status = page.inner_text("#etat").split(" offre")[0]
                    context.close()
                print(f"| {card} | {view} | {mode} | {status} | {statistics.median(times):.0f} ms"
                      f" | {percentile(times, 0.95):.0f} ms | {max(times):.0f} ms |")
        browser.close()


if __name__ == "__main__":
    main()
