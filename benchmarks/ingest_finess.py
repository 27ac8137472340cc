"""Benchmark: the national FINESS file, parse → published offers, against the naive path.

Both run in the same session, each in its own fresh database of the embedded cluster, each
in a child process so that its peak memory (max RSS) is its own:

- cartographie: ``cartographie ingest finess`` (streamed parse, COPY staging, set-based
  publish with provenance, history and territory codes);
- naive: what a user would write with geopandas — read the NDJSON, pair Organization and
  Location, build a GeoDataFrame of the same prevention establishments, ``to_postgis``.

The naive path publishes less (no provenance, no idempotence, no quarantine, no territory
codes) and is still the bar to beat. Prints one Markdown table with the ratios.

Usage: .venv/bin/python benchmarks/ingest_finess.py [--fichier PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cartographie.db import embedded_cluster  # noqa: E402
from cartographie.initialisation import initialise  # noqa: E402
from cartographie.settings import Settings  # noqa: E402

NATIONAL = ROOT.parent / "shared" / "data" / "finess" / "finess-etalab-20210108-fhir.ndjson.gz"

NAIVE = r'''
import gzip, json, sys
import geopandas as gpd, pandas as pd
from shapely.geometry import Point
from sqlalchemy import create_engine
path, url, categories = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
organizations = pd.read_json(path, lines=True, compression="gzip", dtype=False)
locations = organizations[organizations.resourceType == "Location"]
organizations = organizations[organizations.resourceType == "Organization"].drop(
    columns=["position", "managingOrganization"])
def category(types):
    for coding in types[0]["coding"]:
        if coding["system"].endswith("/CAT_ETAB"):
            return coding["code"]
organizations = organizations.assign(categorie=organizations["type"].map(category))
organizations = organizations[organizations.categorie.isin(categories)]
locations = locations.assign(org=locations.managingOrganization.map(
    lambda ref: ref["reference"].split("/")[1]))
frame = organizations.merge(locations[["org", "position"]], left_on="id", right_on="org")
frame = gpd.GeoDataFrame({
    "finess_et": frame.identifier.map(lambda ids: ids[0]["value"]),
    "nom": frame.name, "categorie": frame.categorie,
    "adresse": frame.address.map(lambda a: " ".join(a[0].get("line", []))),
    "code_postal": frame.address.map(lambda a: a[0].get("postalCode")),
    "telephone": frame.telecom.map(lambda t: t[0]["value"] if isinstance(t, list) else None),
    "brut": frame.drop(columns=["position"]).apply(
        lambda r: json.dumps(r.to_dict(), default=str), axis=1),
}, geometry=[Point(p["longitude"], p["latitude"]) for p in frame.position], crs=4326)
frame.to_postgis("offre_naive", create_engine(url), if_exists="replace", index=False)
print(len(frame))
'''


def fresh_database(cluster, settings, name: str) -> str:
    cluster.drop_database(name)
    cluster.ensure_database(name)
    url = cluster.url(name)
    initialise(url, settings.resolved_data_dir)
    return url


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB of the child, and its last output line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"échec de {command[:3]} :\n{done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run the lighter one first.
    return wall, max(peak, before) / 1024, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fichier", type=Path, default=NATIONAL)
    args = parser.parse_args()
    settings = Settings(database_url=None)
    cluster = embedded_cluster(settings)
    cluster.start()
    ours_url = fresh_database(cluster, settings, "bench_ingest")
    naive_url = fresh_database(cluster, settings, "bench_naive")
    env = {**os.environ, "DATABASE_URL": ours_url, "COLUMNS": "200"}
    binary = str(Path(sys.executable).parent / "cartographie")

    ours = measured([binary, "ingest", "finess", str(args.fichier)], env)
    again = measured([binary, "ingest", "finess", str(args.fichier)], env)
    with (settings.resolved_data_dir / "finess" / "categories.csv").open(encoding="utf-8") as f:
        relevant = [line.split(";")[0] for line in f if ";oui;" in line]
    naive = measured([sys.executable, "-c", NAIVE, str(args.fichier), naive_url,
                      ",".join(relevant)], env)

    print(f"Fichier : {args.fichier.name} ({args.fichier.stat().st_size / 2**20:.1f} Mio gzip)")
    print(f"cartographie : {ours[2]}")
    print(f"naïf : {naive[2]} lignes écrites\n")
    print("| chemin | durée (s) | mémoire max (Mio) |")
    print("|---|---:|---:|")
    print(f"| cartographie ingest finess (1er passage) | {ours[0]:.1f} | {ours[1]:.0f} |")
    print(f"| cartographie ingest finess (2e passage, inchangé) | {again[0]:.1f} | — |")
    print(f"| geopandas read_json + to_postgis (naïf) | {naive[0]:.1f} | {naive[1]:.0f} |")
    print(f"\nRapport de vitesse naïf / cartographie : {naive[0] / ours[0]:.2f} ×")
    print(json.dumps({"cartographie_s": round(ours[0], 1), "second_s": round(again[0], 1),
                      "naif_s": round(naive[0], 1), "cartographie_mio": round(ours[1]),
                      "naif_mio": round(naive[1])}))
    for name in ("bench_ingest", "bench_naive"):
        cluster.drop_database(name)


if __name__ == "__main__":
    main()
