"""Benchmark the HTTP API's read endpoints: requests per second and p95 latency with 50
concurrent clients against 20,000 videos x 30 days of hourly history (14.4 M observations,
bulk-loaded; hourly growth derived for the last 2 days, which `top` reads). Run on demand;
results are recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/api_benchmark.py [--videos 20000] [--days 30] [--clients 50]

The API is the production server (`python -m ytmetrics_dagster.surfaces.dashboard`, uvicorn, one process)
on 127.0.0.1; the clients are threads of this process, each with its own keep-alive
connection, sending the next request as soon as the previous answer is read. It uses its own
embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import load_snapshots, load_videos

from ytmetrics_dagster.warehouse import growth
from ytmetrics_dagster.warehouse.alerts import record_alert
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hammer(base: str, paths: list[str], clients: int, seconds: float) -> dict:
    """``clients`` threads request ``paths`` round-robin for ``seconds``; figures."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        session = requests.Session()
        mine, bad = [], []
        n = index
        while time.monotonic() < stop_at:
            path = paths[n % len(paths)]
            n += clients
            started = time.perf_counter()
            answer = session.get(base + path, timeout=60)
            mine.append(time.perf_counter() - started)
            if answer.status_code != 200:
                bad.append(answer.status_code)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)
        session.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else None,
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="per endpoint")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ytm-api-bench-"))
    server = None
    try:
        pg = start_embedded_postgres(root / "pgdata")
        url = database_on_server(pg, "ytmetrics_bench", "psycopg")
        engine = get_engine(url)
        upgrade(engine)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=args.days)
        load_videos(engine, "b", args.videos, start)
        rows, load_s = load_snapshots(engine, "b", start, end)
        print(
            f"loaded {rows:,} observations of {args.videos:,} videos in {load_s:.0f} s", flush=True
        )
        started = time.perf_counter()
        growth.rebuild_hourly_growth(engine, end - timedelta(days=2), end)
        print(f"hourly growth of the last 2 days in {time.perf_counter() - started:.0f} s")
        for n in range(20):
            record_alert(engine, "quota", f"quota:bench:{n}", f"bench alert {n}", {})

        port = free_port()
        env = {**os.environ, "YTMETRICS_DATABASE_URL": url, "YTMETRICS_DASHBOARD_URL": "off"}
        server = subprocess.Popen(
            [sys.executable, "-m", "ytmetrics_dagster.surfaces.dashboard", "--port", str(port)],
            env=env,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/openapi.json", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the API did not start")
            time.sleep(0.2)

        def vid(i: int) -> str:
            return "b" + str(i).zfill(10)

        step = max(1, args.videos // 997)
        many = [vid(1 + (i * step) % args.videos) for i in range(997)]
        endpoints = {
            "GET /videos (limit 100)": ["/videos?limit=100"],
            "GET /videos (limit 100, offset 10,000)": ["/videos?limit=100&offset=10000"],
            "GET /videos?channel= (one of 50 channels)": [
                f"/videos?channel=UC{str(i).zfill(22)}&limit=50" for i in range(50)
            ],
            "GET /videos/{video}/metrics (30 days by day)": [
                f"/videos/{v}/metrics?days=30&interval=day" for v in many
            ],
            "GET /videos/{video}/metrics (7 days by hour)": [
                f"/videos/{v}/metrics?days=7&interval=hour" for v in many
            ],
            "GET /videos/{video} (analysis, 7 days by hour)": [f"/videos/{v}" for v in many],
            "GET /top (24 h, 10)": ["/top?hours=24&limit=10"],
            "GET /requests": ["/requests"],
            "GET /alerts": ["/alerts"],
        }
        print(
            f"\n{args.videos:,} videos x {args.days} days, {args.clients} concurrent clients, "
            f"{args.seconds:.0f} s per endpoint\n"
        )
        print("| endpoint | requests | req/s | p50 ms | p95 ms | non-200 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, paths in endpoints.items():
            hammer(base, paths[:5], min(args.clients, 5), 1.0)  # warm the pool and caches
            f = hammer(base, paths, args.clients, args.seconds)
            print(
                f"| {name} | {f['requests']:,} | {f['rps']:,.0f} | {f['p50_ms']:,.0f} | "
                f"{f['p95_ms']:,.0f} | {f['errors']} |",
                flush=True,
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        stop_embedded_postgres(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
