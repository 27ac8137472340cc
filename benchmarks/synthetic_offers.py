"""A synthetic national set of 1 000 000 offers for the API benchmark, built from real FINESS.

Why synthetic: the real national data is ~35 800 offers; the API must hold at 1M (every
ARS adding its local offers, the ROR, national lists). The set is made of copies of the real
published offers, each moved by a random jitter of at most ``JITTER_M`` metres, so that the
density follows the real map (cities, rural areas, overseas) and the cards are populated in
the real proportions:

1. a fresh database (``cartographie_bench`` in the embedded cluster, or ``DATABASE_URL``
   given with ``--url``) built by the project's own ``initialise()``;
2. ``cartographie ingest finess`` of the national file (real offers, real jeux);
3. copies by set-based SQL (``generate_series``): same name, kinds, attributes and territory
   codes as the original (a few hundred metres rarely changes the commune), marked
   ``attributs->>'synthetique' = 'true'`` with ``copie_de`` = the original id; their
   ``jeu_offre`` and ``offre_type_offre`` rows are copied from the original;
4. ``VACUUM ANALYZE``.

Usage: .venv/bin/python benchmarks/synthetic_offers.py [--offres 1000000] [--fichier PATH]
       [--base cartographie_bench]
Prints the database URL last, for ``benchmarks/api_load.py --url``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from cartographie.db import embedded_cluster, make_engine  # noqa: E402
from cartographie.initialisation import initialise  # noqa: E402
from cartographie.settings import Settings  # noqa: E402

NATIONAL = ROOT.parent / "shared" / "data" / "finess" / "finess-etalab-20210108-fhir.ndjson.gz"
JITTER_M = 300
SEED = 0.42
METRES_PER_DEGREE = 111_320

# Copy k of each real published offer, moved by up to JITTER_M metres in each direction.
COPIES = f"""
    CREATE TEMP TABLE copie AS
    SELECT nextval(pg_get_serial_sequence('offre', 'id')) AS id, o.id AS source_id,
           (random() * 2 - 1) * {JITTER_M} / ({METRES_PER_DEGREE} * cos(radians(ST_Y(o.geom))))
               AS dlon,
           (random() * 2 - 1) * {JITTER_M} / {METRES_PER_DEGREE} AS dlat
    FROM (SELECT id, geom FROM offre WHERE statut = 'publiee' AND mode = 'sur_place'
            AND NOT attributs ? 'synthetique' ORDER BY id) o
    CROSS JOIN generate_series(1, :rounds) AS round
    ORDER BY round, o.id
    LIMIT :wanted
"""
COPIED_COLUMNS = """structure_id, nom, description, statut, origine, age_min, age_max, gratuit,
    modalites, mode, zone_codes, contacts, horaires, accessibilite, reservation_url, site_web,
    adresse, code_postal, code_commune, code_departement, code_region, precision_geo,
    provenance"""
OFFERS = f"""
    INSERT INTO offre (id, {COPIED_COLUMNS}, geom, attributs)
    SELECT c.id, {COPIED_COLUMNS.replace("structure_id", "o.structure_id")},
           ST_SetSRID(ST_MakePoint(ST_X(o.geom) + c.dlon, ST_Y(o.geom) + c.dlat), 4326),
           o.attributs || jsonb_build_object('synthetique', true, 'copie_de', o.id)
    FROM copie c JOIN offre o ON o.id = c.source_id
"""
MEMBERSHIPS = (
    """INSERT INTO jeu_offre (jeu_slug, offre_id, raison, regle)
       SELECT jo.jeu_slug, c.id, jo.raison, jo.regle
       FROM copie c JOIN jeu_offre jo ON jo.offre_id = c.source_id""",
    """INSERT INTO offre_type_offre (offre_id, type_offre_slug)
       SELECT c.id, ot.type_offre_slug
       FROM copie c JOIN offre_type_offre ot ON ot.offre_id = c.source_id""",
)


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"{label} : {now - started:.1f} s", flush=True)
    return now


def national_base(name: str, national: Path = NATIONAL,
                  initialised: Callable[[], object] = lambda: None) -> str:
    """A fresh database of the embedded cluster with the national FINESS file ingested by the
    command line, as an operator would; returns its URL."""
    settings = Settings(database_url=None)
    cluster = embedded_cluster(settings)
    cluster.start()
    cluster.drop_database(name)
    cluster.ensure_database(name)
    url = cluster.url(name)
    initialise(url, settings.resolved_data_dir)
    initialised()
    subprocess.run([str(Path(sys.executable).parent / "cartographie"), "ingest", "finess",
                    str(national)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "DATABASE_URL": url, "COLUMNS": "200"})
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offres", type=int, default=1_000_000, help="offres publiées visées")
    parser.add_argument("--fichier", type=Path, default=NATIONAL)
    parser.add_argument("--base", default="cartographie_bench",
                        help="base de la grappe embarquée (recréée)")
    args = parser.parse_args()
    started = time.perf_counter()
    url = national_base(args.base, args.fichier, lambda: step("initialise()", started))
    started = step("cartographie ingest finess (national)", started)

    engine = make_engine(url)
    with engine.begin() as connection:
        real = connection.execute(text(
            "SELECT count(*) FROM offre WHERE statut = 'publiee' AND mode = 'sur_place'"
        )).scalar_one()
        wanted = max(0, args.offres - real)
        connection.execute(text("SELECT setseed(:seed)"), {"seed": SEED})
        connection.execute(text(COPIES), {"rounds": -(-wanted // real), "wanted": wanted})
        connection.execute(text("CREATE INDEX ON copie (source_id)"))
        connection.execute(text(OFFERS))
        for statement in MEMBERSHIPS:
            connection.execute(text(statement))
    started = step(f"{wanted} copies, leurs jeux et types", started)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        counts = connection.execute(text("""
            SELECT count(*), count(*) FILTER (WHERE attributs ? 'synthetique'),
                   (SELECT count(*) FROM jeu_offre)
            FROM offre WHERE statut = 'publiee'
        """)).one()
    engine.dispose()
    step("VACUUM ANALYZE", started)
    print(f"{counts[0]} offres publiées dont {counts[1]} synthétiques ; "
          f"{counts[2]} appartenances à des jeux")
    print(url)


if __name__ == "__main__":
    main()
