"""Benchmark: the ARS import budget — rows per second of a dry run and of a real import.

A fresh database of the embedded cluster (``cartographie_bench_import``) gets the national
FINESS file (so that rows are matched against real offers of the région); then CSV files of
1,000, 5,000 and 10,000 (the row limit) rows placed in Grand Est by coordinates are checked
(``dry_run``) and imported, through the same function as the API (``ingest.contributions``).
A third of the rows reuse the name and place of a real offer (they are recognised as
duplicates), the rest are new offers. Prints one Markdown table, with the size of the JSON
report of the real import: whole (every line, as before issue 11) and its first page of
100 lines (what the API now answers by default).

Usage: .venv/bin/python benchmarks/import_ars.py [--fichier PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from cartographie.db import embedded_cluster, make_engine  # noqa: E402
from cartographie.initialisation import initialise  # noqa: E402
from cartographie.settings import Settings  # noqa: E402
from ingest import contributions  # noqa: E402
from ingest.catalog import ingest  # noqa: E402

NATIONAL = ROOT.parent / "shared" / "data" / "finess" / "finess-etalab-20210108-fhir.ndjson.gz"
DATABASE = "cartographie_bench_import"
SIZES = (1_000, 5_000, 10_000)


def build_csv(real: list[tuple[str, float, float]], rows: int, path: Path) -> None:
    rng = random.Random(42)
    lines = ["identifiant;nom;cartes;latitude;longitude;telephone"]
    for number in range(rows):
        if number % 3 == 0:
            name, lon, lat = rng.choice(real)
        else:
            name = f"Atelier prévention {number}"
            lon, lat = rng.uniform(6.0, 7.9), rng.uniform(47.6, 49.0)
        lines.append(f"bench-{number};{name};nutrition;{lat:.6f};{lon:.6f};03 88 00 00 00")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def report_size(rapport: contributions.Rapport) -> int:
    """Bytes of the report as the API sends it (compact UTF-8 JSON)."""
    return len(json.dumps(dataclasses.asdict(rapport), ensure_ascii=False,
                          separators=(",", ":")).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fichier", type=Path, default=NATIONAL)
    arguments = parser.parse_args()
    settings = Settings(database_url=None)
    cluster = embedded_cluster(settings)
    cluster.start()
    cluster.drop_database(DATABASE)
    cluster.ensure_database(DATABASE)
    url = cluster.url(DATABASE)
    initialise(url, settings.resolved_data_dir)
    engine = make_engine(url)
    ingest(engine, "finess", str(arguments.fichier), settings.resolved_data_dir)
    with engine.connect() as connection:
        real = connection.execute(text("""
            SELECT nom, ST_X(geom), ST_Y(geom) FROM offre
            WHERE code_region = '44' AND statut = 'publiee' AND geom IS NOT NULL
        """)).all()
    print(f"{len(real)} offres nationales publiées en Grand Est\n")
    print("| lignes | vérification (dry_run) | lignes/s | import réel | lignes/s "
          "| rapport complet | rapport, page 1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for rows in SIZES:
            path = Path(folder) / f"import-{rows}.csv"
            build_csv(real, rows, path)
            timings = []
            for dry_run in (True, False):
                with engine.connect() as connection:
                    started = time.perf_counter()
                    rapport = contributions.import_file(
                        connection, path, compte=None, code_region="44", geocoder=None,
                        data_dir=settings.resolved_data_dir, dry_run=dry_run,
                        emplacement=path.name, empreinte=None)
                    timings.append(time.perf_counter() - started)
                    connection.rollback()  # each size starts from the national data
            dry, real_import = timings
            whole, first = (report_size(rapport.page_of(1, size)) for size in (rows, 100))
            print(f"| {rows} | {dry:.1f} s | {rows / dry:.0f} | {real_import:.1f} s | "
                  f"{rows / real_import:.0f} | {whole / 1e6:.2f} Mo | {first / 1e3:.0f} Ko |")
    engine.dispose()
    cluster.drop_database(DATABASE)


if __name__ == "__main__":
    main()
