"""Benchmark: the orientation's evaluation set on the national data, and its latency.

Reproduce (the embedded cluster's « cartographie » database holding the national FINESS):

    .venv/bin/cartographie init
    .venv/bin/cartographie ingest finess ../shared/data/finess/finess-etalab-20210108-fhir.ndjson.gz
    .venv/bin/python benchmarks/orientation_eval.py      # ~2 min, prints the summary

Queries: real communes drawn in every département (``--par-departement``, fixed seed), each
at the four bilan age bands (18–25, 45–50, 60–65, 70–75: one bound of each band, alternately),
with three cards in rotation so that every card is asked. Each answer comes over HTTP from a
warm server (one uvicorn worker started here, ``--port``) and is judged by
``cartographie.evaluation`` (public, exclusions, specialised offer within 30 km, geodesic
distances). Latency: p50 / p95 of ``--requetes`` requests one after the other for the three
sparsest-card set (vaccination-voyageur, activité physique, tabac), after 20 warm-up requests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from api_load import start, uvicorn  # noqa: E402

from cartographie import evaluation  # noqa: E402
from cartographie.db import database_url, make_engine  # noqa: E402
from cartographie.settings import Settings  # noqa: E402

TIMED_CARDS = "vaccination-voyageur,activite-physique,addiction-tabac"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--par-departement", type=int, default=1)
    parser.add_argument("--requetes", type=int, default=200)
    parser.add_argument("--graine", type=float, default=0.42)
    parser.add_argument("--port", type=int, default=8122)
    args = parser.parse_args()

    url = database_url(Settings())
    engine = make_engine(url)
    server = start(uvicorn("api.app:create_app", args.port, "--factory"),
                   {**os.environ, "DATABASE_URL": url}, args.port, "/api/v1/themes")
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60)
        verdicts = []
        with engine.connect() as connection:
            communes = evaluation.sample_communes(connection, args.par_departement, args.graine)
            for query in evaluation.queries(communes):
                response = client.get("/api/v1/orientation", params=query)
                response.raise_for_status()
                verdicts.append(evaluation.judge(connection, query, response.json()))
        timings = []
        for i in range(20 + args.requetes):
            commune = communes[i % len(communes)]
            started = time.perf_counter()
            client.get("/api/v1/orientation", params={
                "code_commune": commune["code"], "age": evaluation.BANDS[i % 4][0],
                "cartes": TIMED_CARDS}).raise_for_status()
            if i >= 20:
                timings.append(time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait()

    counts = evaluation.summary(verdicts)
    print(f"Évaluation de l'orientation : {counts['requetes']} requêtes "
          f"({len(communes)} communes, 4 tranches d'âge du bilan, 12 cartes)")
    for criterion, label in (("public", "public respecté"),
                             ("exclusion", "aucune catégorie exclue"),
                             ("specialise", "offre spécialisée à moins de 30 km présente"),
                             ("distance", "distances géodésiques justes")):
        print(f"  {label:45s} : {counts['requetes'] - counts[criterion]} / "
              f"{counts['requetes']} requêtes")
    print(f"  requêtes en échec                             : {counts['requetes_en_echec']}")
    for verdict in [v for v in verdicts if v.failures][:10]:
        print(f"    {verdict.query} → {verdict.failures}")
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    p50 = statistics.median(timings)
    print(f"Latence orientation ({TIMED_CARDS}, serveur chaud, {len(timings)} requêtes "
          f"l'une après l'autre, machine partagée) : p50 {p50 * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
