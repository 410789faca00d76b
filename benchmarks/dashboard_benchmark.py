"""Benchmark the dashboard's list and comparison pages at scale: 20,000 videos with 30 days of
hourly history (14.4 M observations, bulk-loaded by benchmarks/synthetic.py) and their hourly
growth over the last days. Each page is requested through the real app (Starlette's
TestClient: routing, SQL, charts, templates) and timed; p50/p95 are printed for BENCHMARKS.md.

    .venv/bin/python benchmarks/dashboard_benchmark.py [--videos 20000] [--days 30] [--runs 20]

It uses its own embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from starlette.testclient import TestClient
from synthetic import hour_floor, load_snapshots, load_videos

from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.warehouse import growth
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade

PREFIX = "d"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(client: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    client.get(path)  # warm: plans, templates
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(times), percentile(times, 0.95), len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--growth-days", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ytm-dash-bench-"))
    pgdata = home / "pgdata"
    try:
        url = database_on_server(start_embedded_postgres(pgdata), "bench", "psycopg")
        engine = get_engine(url)
        upgrade(engine)
        end = hour_floor()
        start = end - timedelta(days=args.days)
        load_videos(engine, PREFIX, args.videos, end)
        rows, seconds = load_snapshots(engine, PREFIX, start, end)
        print(f"loaded {rows:,} observations of {args.videos:,} videos in {seconds:.0f} s")
        started = time.perf_counter()
        growth.rebuild_hourly_growth(engine, end - timedelta(days=args.growth_days), end)
        print(
            f"hourly growth of the last {args.growth_days} days in "
            f"{time.perf_counter() - started:.0f} s"
        )
        ids = [f"{PREFIX}{i:010d}" for i in range(1, 9)]
        pages = {
            "list (default sort, 25 rows)": "/",
            "list sorted by views gained 24 h": "/?sort=gained_24h",
            "list sorted by views/hour now": "/?sort=views_per_hour",
            "list as CSV (100 rows)": "/?per_page=100&format=csv",
            "comparison, 8 videos (age 7 d, calendar 7 d)": "/compare?videos=" + ",".join(ids),
            "comparison, 8 videos (age 30 d, calendar 30 d)": "/compare?videos="
            + ",".join(ids)
            + "&age_days=30&days=30",
        }
        print(f"{'page':48} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>9}  ({args.runs} requests)")
        with TestClient(create_app(engine)) as client:
            for name, path in pages.items():
                p50, p95, size = measure(client, path, args.runs)
                print(f"{name:48} {p50 * 1000:8.0f} {p95 * 1000:8.0f} {size:9,}")
        engine.dispose()
        return 0
    finally:
        stop_embedded_postgres(pgdata)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
