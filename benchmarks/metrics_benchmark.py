"""Benchmark one Prometheus scrape of the dashboard's ``/metrics`` (every figure read from the
warehouse at scrape time) with N videos observed hourly for D days. Run on demand; results are
recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/metrics_benchmark.py [--videos 20000] [--days 30] [--scrapes 20]

Synthetic observations are generated inside Postgres (benchmarks/synthetic.py); the scrape is
the production path: ``generate_latest`` over the dashboard's registry (the collector and its
queries), timed end to end. It uses its own embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import hour_floor, load_snapshots, load_videos

from ytmetrics_dagster.surfaces.dashboard.metrics import metrics_registry
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade


def scrape(registry, scrapes: int, label: str) -> None:
    body = generate_latest(registry)  # warm the connection pool and caches
    timings = []
    for _ in range(scrapes):
        started = time.perf_counter()
        body = generate_latest(registry)
        timings.append(time.perf_counter() - started)
    timings.sort()
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    print(
        f"/metrics scrape {label}: median {statistics.median(timings) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms over {scrapes} scrapes; "
        f"{len(body):,} bytes"
    )
    for line in body.decode().splitlines():
        if line.startswith("ytmetrics_videos_"):
            print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ytm-metrics-bench-"))
    try:
        server = start_embedded_postgres(root / "pgdata")
        engine = get_engine(database_on_server(server, "ytmetrics_bench", "psycopg"))
        upgrade(engine)
        now = datetime.now(UTC)
        # the current hour observed too, as the hourly job leaves it
        end = hour_floor(now) + timedelta(hours=1)
        start = end - timedelta(days=args.days)
        load_videos(engine, "b", args.videos, start)
        rows, seconds = load_snapshots(engine, "b", start, end)
        print(
            f"loaded {rows:,} observations ({args.videos:,} videos x {args.days} days) in {seconds:.0f} s"
        )

        registry = metrics_registry(engine)
        current = hour_floor()
        with engine.begin() as conn:
            # both hours as the hourly job leaves them (the load may have crossed an hour)
            conn.execute(
                text(
                    "INSERT INTO ytmetrics.snapshot_batches (snapshot_hour, kind, source, "
                    "videos_due, videos_written) SELECT h, 'hour', 'simulator', :n, 0 "
                    "FROM unnest(CAST(:hours AS timestamptz[])) AS h WHERE NOT EXISTS "
                    "(SELECT 1 FROM ytmetrics.snapshot_batches b WHERE b.snapshot_hour = h)"
                ),
                {"n": args.videos, "hours": [current, current - timedelta(hours=1)]},
            )
        scrape(registry, args.scrapes, "after the hour's run (its due figure recorded)")
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM ytmetrics.snapshot_batches WHERE snapshot_hour = :h"),
                {"h": current},
            )
        scrape(registry, args.scrapes, "before the hour's run (who is due computed)")
    finally:
        stop_embedded_postgres(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
