"""Benchmark: the service under load, 16 concurrent clients on a realistic mix, loopback only.

The mix is what the pages and partners ask: 35 % near + carte (a random card of the 12
around a real offer), 20 % orientation (two random cards), 30 % vector tiles (z9 and z13 in
equal parts), 15 % cards (``/api/v1/cartes``, ``/api/v1/cartes/{slug}``, the card page and
the home page). Each client sends its next request when the previous one is answered, for
``--duree`` seconds after a short warm-up; points are drawn from real (non-synthetic) offers
with a fixed seed. The server is ``api.app:create_app`` under uvicorn with ``--workers``
processes, no access log. Reported: throughput, p50 / p95 / p99 per request type, errors
(any status other than 200 / 204), and the resident memory of the server's processes at the
start and the end of the measure (sampled every 5 s, maximum too).

Usage: .venv/bin/python benchmarks/load_mix.py [--url URL] [--clients 16] [--duree 60]
       [--workers 1] [--graine 42]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_load import bench_url, percentile, real_points, start, tile_of, uvicorn  # noqa: E402
from sqlalchemy import text  # noqa: E402

from cartographie.db import make_engine  # noqa: E402
from cartographie.taxonomy import CARTES  # noqa: E402

PORT = 18803
WARM_UP_SECONDS = 5
MEMORY_SAMPLE_SECONDS = 5
MIX = (("near + carte", 35), ("orientation", 20), ("tuiles z9/z13", 30),
       ("cartes API + pages", 15))


def request_for(kind: str, rng: random.Random, lon: float, lat: float) -> str:
    card = rng.choice(CARTES)
    if kind == "near + carte":
        return f"/api/v1/offres?carte={card}&lat={lat:.5f}&lon={lon:.5f}&limit=20"
    if kind == "orientation":
        pair = ",".join(rng.sample(CARTES, 2))
        return f"/api/v1/orientation?cartes={pair}&lat={lat:.5f}&lon={lon:.5f}&age=45"
    if kind == "tuiles z9/z13":
        z = rng.choice((9, 13))
        return "/tiles/{}/{}/{}.mvt".format(z, *tile_of(lon, lat, z))
    return rng.choice(("/api/v1/cartes", f"/api/v1/cartes/{card}", f"/cartes/{card}", "/"))


def resident_memory_mb(pid: int) -> float:
    """Resident memory of a process and its children (the uvicorn workers), in MB."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def run(base: str, points: list[tuple[float, float]], clients: int, seconds: float,
              seed: int, server_pid: int) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    memory: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def one_client(number: int, until: float, record: bool) -> None:
            rng = random.Random(seed * 1000 + number + (0 if record else 500))
            while time.monotonic() < until:
                kind = rng.choice(kinds)
                lon, lat = rng.choice(points)
                path = request_for(kind, rng, lon, lat)
                started = time.perf_counter()
                try:
                    status = (await client.get(path)).status_code
                except httpx.HTTPError:
                    status = 0
                if record:
                    latencies[kind].append(time.perf_counter() - started)
                    if status not in (200, 204):
                        errors[kind] += 1

        async def sample_memory(until: float) -> None:
            while time.monotonic() < until:
                memory.append(resident_memory_mb(server_pid))
                await asyncio.sleep(MEMORY_SAMPLE_SECONDS)
            memory.append(resident_memory_mb(server_pid))

        warm_until = time.monotonic() + WARM_UP_SECONDS
        await asyncio.gather(*(one_client(n, warm_until, False) for n in range(clients)))
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(sample_memory(until),
                             *(one_client(n, until, True) for n in range(clients)))
        elapsed = time.monotonic() - started
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, "memory": memory}


def report(result: dict, args, offers: int) -> None:
    latencies, errors, elapsed = result["latencies"], result["errors"], result["elapsed"]
    memory = result["memory"]
    total = sum(len(v) for v in latencies.values())
    print(f"{offers} offres publiées ; {args.clients} clients pendant {args.duree} s ; "
          f"{args.workers} processus ; {os.cpu_count()} cœurs partagés avec le client\n")
    print("| requête | nombre | débit (req/s) | p50 (ms) | p95 (ms) | p99 (ms) | erreurs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    everything = [v for values in latencies.values() for v in values]
    for kind, _ in MIX:
        values = latencies[kind]
        print(f"| {kind} | {len(values)} | {len(values) / elapsed:.1f} "
              f"| {percentile(values, 50):.0f} | {percentile(values, 95):.0f} "
              f"| {percentile(values, 99):.0f} | {errors[kind]} |")
    print(f"| **tout** | {total} | {total / elapsed:.1f} | {percentile(everything, 50):.0f} "
          f"| {percentile(everything, 95):.0f} | {percentile(everything, 99):.0f} "
          f"| {sum(errors.values())} |")
    print(f"\nMémoire résidente du serveur : {memory[0]:.0f} Mo au début, {memory[-1]:.0f} Mo "
          f"à la fin, {max(memory):.0f} Mo au plus.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base à mesurer (défaut : cartographie_bench embarquée)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duree", type=float, default=60, help="secondes mesurées")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--graine", type=int, default=42)
    args = parser.parse_args()
    url = bench_url(args.url)
    engine = make_engine(url)
    with engine.connect() as connection:
        points = real_points(connection)
        offers = connection.execute(text(
            "SELECT count(*) FROM offre WHERE statut = 'publiee'")).scalar_one()
    engine.dispose()
    server = start(uvicorn("api.app:create_app", PORT, "--factory", workers=args.workers),
                   {**os.environ, "DATABASE_URL": url}, PORT, "/api/v1/cartes")
    try:
        result = asyncio.run(run(f"http://127.0.0.1:{PORT}", points, args.clients, args.duree,
                                 args.graine, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(result, args, offers)


if __name__ == "__main__":
    main()
