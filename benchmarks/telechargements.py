"""Benchmark: the bulk files of /donnees on the national FINESS (build time, size, memory).

A fresh database of the embedded cluster gets ``cartographie ingest finess`` of the national
file; then each format is built by ``api.telechargements.Depot``, as the first request after
a publication does, each in its own child process so that its peak memory (max RSS, from
``wait4``) is its own; the « reference » row is the same child building nothing (imports
and connection alone). Prints one Markdown table.

Usage: .venv/bin/python benchmarks/telechargements.py [--fichier PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_finess import NATIONAL, fresh_database  # noqa: E402
from cartographie.db import embedded_cluster  # noqa: E402
from cartographie.settings import Settings  # noqa: E402

BUILD = r'''
import json, sys
from pathlib import Path
from cartographie.db import make_engine
from api.telechargements import Depot, TELECHARGEMENTS
url, directory, slug = sys.argv[1:4]
export = next((t for t in TELECHARGEMENTS if t.slug == slug), None)
with make_engine(url).connect() as connection:
    if slug == "reference":  # the same imports and connection, nothing built
        print(json.dumps({"lignes": 0, "taille": 0, "gzip": 0}))
        sys.exit(0)
    made = Depot(Path(directory)).fichier(connection, export)
print(json.dumps({"lignes": made.lignes, "taille": made.taille, "gzip": made.taille_gzip}))
'''


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, this child's own peak RSS in MiB (``wait4``), its last output line."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"échec de {command[:3]} :\n{err.read()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, out.read().strip().splitlines()[-1]


def national_database(fichier: Path) -> tuple[object, str]:
    """A fresh database of the embedded cluster, with ``cartographie ingest finess`` done."""
    settings = Settings(database_url=None)
    cluster = embedded_cluster(settings)
    cluster.start()
    url = fresh_database(cluster, settings, "bench_telechargements")
    subprocess.run([str(Path(sys.executable).parent / "cartographie"), "ingest", "finess",
                    str(fichier)], env={**os.environ, "DATABASE_URL": url}, check=True,
                   capture_output=True)
    return cluster, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fichier", type=Path, default=NATIONAL)
    cluster, url = national_database(parser.parse_args().fichier)
    print("| fichier | offres | taille | gzip | construction (s) | mémoire max (Mio) |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as directory:
        for slug in ("reference", "csv", "geojson", "ndjson"):
            wall, peak, line = measured([sys.executable, "-c", BUILD, url, directory, slug],
                                        {**os.environ, "DATABASE_URL": url})
            made = json.loads(line)
            print(f"| offres.{slug} | {made['lignes']} | {made['taille'] / 1e6:.1f} Mo | "
                  f"{made['gzip'] / 1e6:.1f} Mo | {wall:.1f} | {peak:.0f} |")
    cluster.drop_database("bench_telechargements")


if __name__ == "__main__":
    main()
