"""Benchmark: the national coverage recomputation (all 12 cards, optionally every jeu).

Runs on the base named by ``DATABASE_URL`` or the embedded cluster's ``cartographie`` base,
which must hold the national FINESS (``cartographie init`` then
``cartographie ingest finess ../shared/data/finess/finess-etalab-20210108-fhir.ndjson.gz``).
Each run recomputes in one transaction that is rolled back, so the stored coverage is left as
it was. Prints the load average next to each figure: the machine is shared.

Usage: .venv/bin/python benchmarks/couverture_nationale.py [--fois 3] [--jeux]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from cartographie import couverture  # noqa: E402
from cartographie.db import database_url, make_engine  # noqa: E402
from cartographie.settings import get_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fois", type=int, default=3, help="nombre de recalculs")
    parser.add_argument("--jeux", action="store_true", help="aussi chaque jeu d'offres")
    arguments = parser.parse_args()
    engine = make_engine(database_url(get_settings()))
    with engine.connect() as connection:
        offers, communes = connection.execute(text(
            "SELECT (SELECT count(*) FROM offre WHERE statut = 'publiee'), "
            "(SELECT count(*) FROM commune WHERE centre IS NOT NULL)")).one()
    print(f"{offers} offres publiées, {communes} communes placées")
    print("| recalcul | groupes | durée (s) | charge (1 min) |\n|---:|---:|---:|---:|")
    for run in range(1, arguments.fois + 1):
        with engine.connect() as connection:
            transaction = connection.begin()
            started = time.perf_counter()
            groups, _ = couverture.recompute_all(connection, jeux=arguments.jeux)
            seconds = time.perf_counter() - started
            transaction.rollback()
        print(f"| {run} | {groups} | {seconds:.1f} | {os.getloadavg()[0]:.1f} |")
    engine.dispose()


if __name__ == "__main__":
    main()
