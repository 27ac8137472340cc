"""Benchmark: the public API over real HTTP at national scale, side by side with tipg.

Reproduce (about 15 minutes on 2 cores):

    .venv/bin/pip install -e '.[bench]'                 # tipg
    .venv/bin/python benchmarks/synthetic_offers.py     # 1M offers in cartographie_bench
    .venv/bin/python benchmarks/api_load.py             # prints the Markdown table

Both servers run in this session, on this machine, on the same ``offre`` table of the same
database, each as one uvicorn worker without access log: ours (``api.app:create_app``) and
tipg (``tipg.main:app``, restricted to ``public.offre`` with its plain offer columns).
For each query the client (httpx, asyncio) draws points from the real (non-synthetic)
offers with a fixed seed, sends a warm-up that is not counted, then:

- latency: p50 / p95 of ``--requetes`` requests sent one after the other;
- throughput: the same number of requests with ``--concurrence`` in flight, per second.

No ``If-None-Match`` is ever sent, so the ETag middleware answers 200 with a full body (it
still hashes every body, which is counted). Server-side caching is disclosed: totals and
aggregated tiles (zoom < 11) of other filter sets are kept per data version
(``cartographie.cache``); the « après écriture » column is the p95 of requests each sent
right after a real write (one published offer of the card moved by a metre and back, in its
own committed transaction, as an ARS correction would), for every query of ours. tipg caches
nothing on the server. Responses must be 200 (or 204 for an empty tile); anything else stops
the run.

Usage: .venv/bin/python benchmarks/api_load.py [--url URL] [--requetes 300]
       [--concurrence 8] [--graine 42] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from cartographie.db import embedded_cluster, make_engine  # noqa: E402
from cartographie.settings import Settings  # noqa: E402

OURS_PORT, TIPG_PORT = 18801, 18802
CARD = "addiction-tabac"
ORIENTATION_CARDS = "addiction-tabac,vaccination-adulte"
BBOX_HALF_DEGREES = 0.05  # a box of about 8 × 11 km around the point
TIPG_TABLE = "public.offre"
TIPG_PROPERTIES = ["nom", "description", "adresse", "code_postal", "code_commune",
                   "code_departement", "code_region", "mode", "gratuit", "age_min", "age_max",
                   "horaires", "contacts", "reservation_url", "site_web", "accessibilite",
                   "modalites", "precision_geo", "maj_le"]
RARE_CARD = "vaccination-voyageur"  # the sparsest card of the national data
RARE_ORIENTATION_CARDS = "vaccination-voyageur,activite-physique"
WARM_UP = 30
AFTER_WRITE_REQUESTS = 30
# Every read endpoint of the contract, once, before measuring: {id} is a real offer.
CONTRACT = [
    "/api/v1/themes", "/api/v1/cartes", f"/api/v1/cartes/{CARD}",
    "/api/v1/offres?limit=5", f"/api/v1/offres?carte={CARD}&code_departement=75&f=geojson",
    "/api/v1/offres?theme=addiction&age=30&gratuit=true&lat=48.85&lon=2.35&rayon_km=10",
    "/api/v1/offres?besoin=mental-jeunes&type_offre=consultation&q=centre&code_region=84",
    "/api/v1/offres/{id}", "/api/v1/offres/{id}?f=geojson", "/api/v1/offres/{id}/provenance",
    f"/api/v1/orientation?cartes={ORIENTATION_CARDS}&code_commune=67482&age=45",
    f"/api/v1/orientation?cartes={CARD}&adresse=10 rue de Rivoli 75004 Paris",
    "/ogc", "/ogc/conformance", "/ogc/collections", f"/ogc/collections/{CARD}",
    f"/ogc/collections/{CARD}/items?limit=5", "/ogc/collections/offres/items/{id}",
    "/tiles/5/16/11.mvt", "/tiles/13/4150/2818.mvt", "/docs", "/openapi.json",
]


@dataclass
class Query:
    label: str
    server: str  # "ours" or "tipg"
    path: Callable[[float, float], str]  # (lon, lat) -> path with query string


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(x, n - 1), min(y, n - 1)


def bbox(lon: float, lat: float) -> str:
    h = BBOX_HALF_DEGREES
    return f"{lon - h:.5f},{lat - h:.5f},{lon + h:.5f},{lat + h:.5f}"


def queries() -> list[Query]:
    found = [
        Query("near + carte (limit 20)", "ours", lambda lon, lat:
              f"/api/v1/offres?carte={CARD}&lat={lat:.5f}&lon={lon:.5f}&limit=20"),
        Query("near + carte rare (limit 20)", "ours", lambda lon, lat:
              f"/api/v1/offres?carte={RARE_CARD}&lat={lat:.5f}&lon={lon:.5f}&limit=20"),
        Query("bbox (limit 100) /api/v1/offres", "ours", lambda lon, lat:
              f"/api/v1/offres?bbox={bbox(lon, lat)}&limit=100"),
        Query("bbox (limit 100) OGC items", "ours", lambda lon, lat:
              f"/ogc/collections/offres/items?bbox={bbox(lon, lat)}&limit=100"),
        Query("bbox (limit 100) OGC items", "tipg", lambda lon, lat:
              f"/collections/{TIPG_TABLE}/items?bbox={bbox(lon, lat)}&limit=100"),
        Query("orientation (2 cartes)", "ours", lambda lon, lat:
              f"/api/v1/orientation?cartes={ORIENTATION_CARDS}&lat={lat:.5f}&lon={lon:.5f}"),
        Query("orientation (2 cartes rares)", "ours", lambda lon, lat:
              f"/api/v1/orientation?cartes={RARE_ORIENTATION_CARDS}&lat={lat:.5f}"
              f"&lon={lon:.5f}"),
    ]
    for z in (5, 9, 13):
        found.append(Query(f"tuile z{z}", "ours", lambda lon, lat, z=z:
                           "/tiles/{}/{}/{}.mvt".format(z, *tile_of(lon, lat, z))))
        found.append(Query(f"tuile z{z}", "tipg", lambda lon, lat, z=z:
                           "/collections/{}/tiles/WebMercatorQuad/{}/{}/{}?properties=nom".format(
                               TIPG_TABLE, z, *tile_of(lon, lat, z))))
    return found


def asyncpg_url(sqlalchemy_url: str) -> str:
    """tipg's URL: asyncpg reads a Unix socket folder as a percent-encoded host."""
    parts = urlsplit(sqlalchemy_url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    port = query.get("port", [str(parts.port or 5432)])[0]
    user = parts.username or ""
    return f"postgresql://{user}@{quote(host, safe='')}:{port}{parts.path}"


def start(command: list[str], env: dict[str, str], port: int, ready: str) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[2]} s'est arrêté :\n{process.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"{command[2]} ne répond pas sur le port {port}")


def uvicorn(target: str, port: int, *extra: str, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "uvicorn", target, *extra, "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-access-log",
            "--log-level", "warning"]


def writer(engine):
    """A real write, committed: one published offer of the card moved by a metre, then back
    on the next call (positions, memberships, grid cells and the data version all change)."""
    with engine.connect() as connection:
        offer_id = connection.execute(text("""
            SELECT min(o.id) FROM offre o JOIN carte_offre c ON c.offre_id = o.id
            WHERE c.carte_slug = :carte AND c.geog IS NOT NULL
        """), {"carte": CARD}).scalar_one()
    step = [0.00001]

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("""
                UPDATE offre SET geom = ST_Translate(geom, :d, 0) WHERE id = :id
            """), {"d": step[0], "id": offer_id})
        step[0] = -step[0]

    return write


async def timed(client: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code not in (200, 204):
        raise SystemExit(f"{path} : HTTP {response.status_code} {response.text[:300]}")
    return elapsed


async def sequential(client: httpx.AsyncClient, paths: list[str]) -> list[float]:
    return [await timed(client, path) for path in paths]


async def concurrent(client: httpx.AsyncClient, paths: list[str], width: int) -> float:
    """Requests per second with ``width`` requests in flight."""
    pending = iter(paths)

    async def worker() -> None:
        for path in pending:
            await timed(client, path)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    return len(paths) / (time.perf_counter() - started)


def check_contract(base: str, offer_id: int) -> int:
    """Every contract endpoint answers 200 on this database; stops the run otherwise."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for path in CONTRACT:
            response = client.get(path.replace("{id}", str(offer_id)))
            if response.status_code != 200:
                raise SystemExit(f"contrat : {path} → HTTP {response.status_code} "
                                 f"{response.text[:300]}")
    return len(CONTRACT)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


async def measure(query: Query, base: str, points: list[tuple[float, float]], requests: int,
                  width: int, write) -> dict:
    paths = [query.path(lon, lat) for lon, lat in points]
    limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await sequential(client, paths[:WARM_UP])
        latencies = await sequential(client, paths[WARM_UP:WARM_UP + requests])
        throughput = await concurrent(client, paths[WARM_UP + requests:
                                                    WARM_UP + 2 * requests], width)
        after_write = None
        if query.server == "ours":
            after_write_latencies = []
            for path in paths[-AFTER_WRITE_REQUESTS:]:
                await asyncio.to_thread(write)
                after_write_latencies.append(await timed(client, path))
            after_write = percentile(after_write_latencies, 95)
    return {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "rps": throughput, "apres_ecriture": after_write}


def bench_url(url: str | None) -> str:
    """The database measured: ``url``, else ``cartographie_bench`` of the embedded cluster."""
    if url is not None:
        return url
    cluster = embedded_cluster(Settings(database_url=None))
    cluster.start()
    return cluster.url("cartographie_bench")


def real_points(connection) -> list[tuple[float, float]]:
    """Where the requests are made: the real (non-synthetic) published offers, in id order."""
    return [tuple(p) for p in connection.execute(text("""
        SELECT ST_X(geom), ST_Y(geom) FROM offre
        WHERE statut = 'publiee' AND geom IS NOT NULL AND NOT attributs ? 'synthetique'
        ORDER BY id
    """))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base à mesurer (défaut : cartographie_bench embarquée)")
    parser.add_argument("--requetes", type=int, default=300)
    parser.add_argument("--concurrence", type=int, default=8)
    parser.add_argument("--graine", type=int, default=42)
    parser.add_argument("--workers", type=int, default=1, help="processus de notre serveur")
    args = parser.parse_args()
    url = bench_url(args.url)
    engine = make_engine(url)
    with engine.connect() as connection:
        real = real_points(connection)
        offers, real_offer = connection.execute(text("""
            SELECT count(*), min(id) FILTER (WHERE NOT attributs ? 'synthetique')
            FROM offre WHERE statut = 'publiee'
        """)).one()

    write = writer(engine)
    rng = random.Random(args.graine)
    count = WARM_UP + 2 * args.requetes + AFTER_WRITE_REQUESTS
    points = [tuple(rng.choice(real)) for _ in range(count)]

    env = {**os.environ, "DATABASE_URL": url}
    tipg_env = {
        **os.environ, "DATABASE_URL": asyncpg_url(url),
        "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": f'["{TIPG_TABLE}"]',
        "TIPG_TABLE_CONFIG__public_offre__geomcol": "geom",
        "TIPG_TABLE_CONFIG__public_offre__pk": "id",
        "TIPG_TABLE_CONFIG__public_offre__properties": json.dumps(TIPG_PROPERTIES),
        "TIPG_DB_SPATIAL_EXTENT": "false", "TIPG_DB_DATETIME_EXTENT": "false",
    }
    servers = {
        "ours": start(uvicorn("api.app:create_app", OURS_PORT, "--factory",
                              workers=args.workers), env, OURS_PORT, "/api/v1/cartes"),
        "tipg": start(uvicorn("tipg.main:app", TIPG_PORT), tipg_env, TIPG_PORT,
                      f"/collections/{TIPG_TABLE}"),
    }
    bases = {"ours": f"http://127.0.0.1:{OURS_PORT}", "tipg": f"http://127.0.0.1:{TIPG_PORT}"}
    results: list[tuple[Query, dict]] = []
    try:
        checked = check_contract(bases["ours"], real_offer)
        print(f"Contrat : {checked} points d'accès répondent 200", file=sys.stderr)
        for query in queries():
            result = asyncio.run(measure(query, bases[query.server], points, args.requetes,
                                         args.concurrence, write))
            results.append((query, result))
            print(f"{query.label} [{query.server}] : {json.dumps(result)}", file=sys.stderr)
    finally:
        for process in servers.values():
            process.terminate()
            process.wait(timeout=30)
        engine.dispose()
    report(results, offers, checked, args)


def report(results: list[tuple[Query, dict]], offers: int, checked: int, args) -> None:
    print(f"Contrat : les {checked} points d'accès de lecture répondent 200.")
    print(f"{offers} offres publiées ; {args.requetes} requêtes par mesure, concurrence "
          f"{args.concurrence} pour le débit ; graine {args.graine} ; {os.cpu_count()} cœurs ; "
          f"{args.workers} processus pour nous\n")
    print("| requête | serveur | p50 (ms) | p95 (ms) | p95 après écriture (ms) | débit (req/s) "
          "| débit / tipg |")
    print("|---|---|---:|---:|---:|---:|---:|")
    tipg = {q.label: r for q, r in results if q.server == "tipg"}
    for query, r in results:
        name = "cartographie" if query.server == "ours" else "tipg"
        cold = f"{r['apres_ecriture']:.1f}" if r["apres_ecriture"] is not None else "—"
        ratio = (f"{r['rps'] / tipg[query.label]['rps']:.2f} ×"
                 if query.server == "ours" and query.label in tipg else "—")
        print(f"| {query.label} | {name} | {r['p50']:.1f} | {r['p95']:.1f} | {cold} "
              f"| {r['rps']:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
