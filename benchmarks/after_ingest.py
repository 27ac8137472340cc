"""Benchmark: the first requests right after a national ingest on a fresh base.

Why: the planner plans on the statistics it has; a publication that left its tables
unanalysed made the first minute after an ingest ~40× slower than the rest (until autovacuum
came by). Here: a fresh database, ``initialise()``, ``cartographie ingest finess`` of the
national file, then at once (no VACUUM, no ANALYZE, no pause) the server is started and
asked ``--requetes`` near + carte requests (limit 20, around real offers, fixed seed), one
after the other, then as many again: the p95 of the first batch must match the second's.

Usage: .venv/bin/python benchmarks/after_ingest.py [--requetes 50] [--base cartographie_apres]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_load import CARD, percentile, real_points, start, uvicorn  # noqa: E402
from sqlalchemy import text  # noqa: E402
from synthetic_offers import national_base  # noqa: E402

from cartographie.db import make_engine  # noqa: E402

PORT = 18804


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requetes", type=int, default=50)
    parser.add_argument("--base", default="cartographie_apres",
                        help="base de la grappe embarquée (recréée)")
    parser.add_argument("--graine", type=int, default=42)
    args = parser.parse_args()
    started_ingest: list[float] = []
    url = national_base(args.base, initialised=lambda: started_ingest.append(time.perf_counter()))
    ingest_seconds = time.perf_counter() - started_ingest[0]
    engine = make_engine(url)
    with engine.connect() as connection:
        points = real_points(connection)
        analysed = connection.execute(text(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'offre'"
        )).scalar_one()
    engine.dispose()
    rng = random.Random(args.graine)
    paths = [f"/api/v1/offres?carte={CARD}&lat={lat:.5f}&lon={lon:.5f}&limit=20"
             for lon, lat in (rng.choice(points) for _ in range(2 * args.requetes))]
    server = start(uvicorn("api.app:create_app", PORT, "--factory"),
                   {**os.environ, "DATABASE_URL": url}, PORT, "/api/v1/themes")
    latencies = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as client:
            for path in paths:
                began = time.perf_counter()
                if client.get(path).status_code != 200:
                    raise SystemExit(f"{path} : réponse inattendue")
                latencies.append(time.perf_counter() - began)
    finally:
        server.terminate()
        server.wait(timeout=30)
    first, then = latencies[:args.requetes], latencies[args.requetes:]
    print(f"Ingestion nationale : {ingest_seconds:.0f} s ; {len(points)} offres publiées ; "
          f"offre analysée par la publication : {'oui' if analysed else 'non'}\n")
    print("| near + carte (limit 20), juste après l'ingestion | p50 (ms) | p95 (ms) |")
    print("|---|---:|---:|")
    for label, values in ((f"{args.requetes} premières requêtes", first),
                          (f"{args.requetes} suivantes", then)):
        print(f"| {label} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} |")


if __name__ == "__main__":
    main()
