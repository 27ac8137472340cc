"""Benchmark: the HSDS 3.0 API on the national FINESS file, walked page by page, a sample of
its items validated against the official JSON Schemas (as ``tests/test_hsds.py`` does on the
Grand Est demo).

A fresh database of the embedded cluster, the national FINESS ingested, then every page of
``/hsds/services`` (``per_page`` items each) read in process; the time of each page, and of a
deep page of ``/hsds/service_at_locations`` near Paris, are printed with the validation count.

Usage: .venv/bin/python benchmarks/hsds_national.py [--fichier PATH] [--per-page 1000]
       [--echantillon 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from benchmarks.synthetic_offers import NATIONAL, national_base  # noqa: E402
from cartographie.db import embedded_cluster, make_engine  # noqa: E402
from cartographie.settings import Settings  # noqa: E402
from tests.test_hsds import assert_page, assert_valid  # noqa: E402

DATABASE = "bench_hsds"


def timed_get(client: TestClient, path: str, **params) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:300]
    return elapsed, response.json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fichier", default=str(NATIONAL))
    parser.add_argument("--per-page", type=int, default=1000)
    parser.add_argument("--echantillon", type=int, default=2000)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = make_engine(national_base(DATABASE, Path(args.fichier)))
    settings = Settings(database_url=None)
    print(f"base neuve et FINESS national : {time.perf_counter() - started:.1f} s", flush=True)
    services, times = [], []
    with TestClient(create_app(settings, engine=engine)) as client:
        page = 1
        while True:
            elapsed, body = timed_get(client, "/hsds/services", page=page,
                                      per_page=args.per_page)
            assert_page(body)
            times.append(elapsed)
            services += body["contents"]
            if body["last_page"]:
                break
            page += 1
        assert len(services) == body["total_items"]
        sample = random.Random(18).sample(services, min(args.echantillon, len(services)))
        started = time.perf_counter()
        for item in sample:
            assert_valid(item, "service")
            for place in item.get("service_at_locations", []):
                assert_valid(place, "service_at_location")
        validation = time.perf_counter() - started
        deep, near = timed_get(client, "/hsds/service_at_locations", lat=48.8566, lon=2.3522,
                               rayon_km=50, page=3, per_page=100)
        organizations, orgs = timed_get(client, "/hsds/organizations", page=10, per_page=1000)
        for item in orgs["contents"][:200]:
            assert_valid(item, "organization")
        started = time.perf_counter()
        lines = client.get("/hsds/services", params={"format": "ndjson"}).text.count("\n")
        stream = time.perf_counter() - started
    print(f"services : {len(services)} en {len(times)} pages de {args.per_page} ; par page : "
          f"médiane {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print(f"échantillon validé (jsonschema, formats compris) : {len(sample)} services et leurs "
          f"lieux en {validation:.1f} s, aucune erreur")
    print(f"service_at_locations à 50 km de Paris, page 3 de 100 : {deep * 1000:.0f} ms "
          f"({near['total_items']} au total)")
    print(f"organizations, page 10 de 1000 : {organizations * 1000:.0f} ms "
          f"({orgs['total_items']} au total)")
    print(f"NDJSON de tous les services : {lines} lignes en {stream:.1f} s")
    engine.dispose()
    embedded_cluster(settings).drop_database(DATABASE)


if __name__ == "__main__":
    main()
