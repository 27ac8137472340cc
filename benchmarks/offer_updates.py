"""Benchmark: what the derived tables (memberships, card rows, grid cells) cost an offer update.

Why: a national run and every membership recompute update all the offers at once (their
effective public, their names) while moving almost none; an ARS correction moves a few.
Both go through the triggers of migrations 0008 and 0011. On a base holding the national
FINESS file (``after_ingest.py`` leaves one, ``cartographie_apres``), each statement runs
in its own transaction, rolled back, so the base is unchanged:

- every published offer updated without moving (``public_publics = public_publics``);
- ``--deplacees`` published offers moved by a metre.

Usage: .venv/bin/python benchmarks/offer_updates.py --url URL [--deplacees 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from cartographie.db import make_engine  # noqa: E402

STATEMENTS = {
    "toutes les offres publiées, sans déplacement":
        "UPDATE offre SET public_publics = public_publics WHERE statut = 'publiee'",
    "{deplacees} offres publiées déplacées d'un mètre":
        "UPDATE offre SET geom = ST_Translate(geom, 0.00001, 0) WHERE id IN ("
        "SELECT id FROM offre WHERE statut = 'publiee' ORDER BY id LIMIT :deplacees)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base tenant le FINESS national")
    parser.add_argument("--deplacees", type=int, default=1000)
    args = parser.parse_args()
    engine = make_engine(args.url)
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        connection.rollback()
        print(f"Schéma {revision}\n\n| mise à jour (une instruction) | lignes | durée (s) |\n"
              "|---|---:|---:|")
        for label, sql in STATEMENTS.items():
            with connection.begin() as transaction:
                started = time.perf_counter()
                rows = connection.execute(text(sql), {"deplacees": args.deplacees}).rowcount
                elapsed = time.perf_counter() - started
                transaction.rollback()
            print(f"| {label.format(deplacees=args.deplacees)} | {rows} | {elapsed:.1f} |")
    engine.dispose()


if __name__ == "__main__":
    main()
