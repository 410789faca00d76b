"""Benchmark: one snapshot partition for N active videos against the simulator over HTTP
with 100 ms added latency per call, versus the seed's method (one videos.list call per video,
one INSERT and commit per row). Run on demand; results are recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/snapshot_benchmark.py [--sizes 1000 10000 20000]
        [--baseline-sizes 1000 10000] [--latency-ms 100]

It starts its own embedded Postgres (a temporary data directory) and a simulator process on
127.0.0.1, so it touches nothing else.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The benchmark's own simulator and database; partitions from two days ago are enough.
os.environ.setdefault("YTMETRICS_SOURCE", "simulator")
os.environ.setdefault(
    "YTMETRICS_PARTITIONS_START", str(datetime.now(UTC).date() - timedelta(days=2))
)

import dagster as dg
import psycopg
import requests
from sqlalchemy import text

from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.youtube.simulator import SimulatedWorld


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def visible_ids(n: int) -> list[str]:
    now = datetime.now(UTC)
    return SimulatedWorld().find_ids(
        lambda p: p.is_visible(now), prefix="bench", limit=n, scan=n * 4
    )


def load_videos(engine, ids: list[str]) -> None:
    catalog = SimulatedWorld()
    rows = [
        {"video_id": v, "published_at": catalog.profile(v).published_at.isoformat()} for v in ids
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE ytmetrics.metric_snapshots, ytmetrics.api_calls, ytmetrics.videos CASCADE"
            )
        )
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.videos (video_id, title, published_at, status, source)
                SELECT r.video_id, 'bench', r.published_at, 'active', 'simulator'
                FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(video_id text, published_at timestamptz)
                """
            ),
            {"rows": json.dumps(rows)},
        )


def sim_requests(base: str) -> int:
    health = requests.get(base.replace("/youtube/v3", "/_simulator/health"), timeout=5).json()
    return int(health["requests"].get("videos", 0))


def bench_pipeline(engine, url: str, base: str, n: int, ids: list[str]) -> dict:
    load_videos(engine, ids[:n])
    resources = {
        "youtube": YouTubeResource(source="simulator", base_url=base, max_workers=8),
        "warehouse": WarehouseResource(database_url=url),
        "clock": ClockResource(),
    }
    before = sim_requests(base)
    started = time.perf_counter()
    result = dg.materialize(
        [video_metric_snapshots],
        # the hour before the current one (observed "as of" minute 5): the same work as the
        # hour in progress, without its deadline
        partition_key=hourly_partitions.get_partition_keys()[-2],
        resources=resources,
    )
    wall = time.perf_counter() - started
    assert result.success
    md = result.asset_materializations_for_node("video_metric_snapshots")[0].metadata
    calls = sim_requests(base) - before
    rows = md["dagster/row_count"].value
    return {
        "n": n,
        "wall_s": wall,
        "fetch_s": md["fetch_s"].value,
        "write_s": md["write_s"].value,
        "calls": calls,
        "expected_calls": math.ceil(n / 50),
        "units": md["api_calls"].value,
        "rows": rows,
        "rows_per_s": rows / md["write_s"].value if md["write_s"].value else float("nan"),
        "peak_rss_mb": peak_rss_mb(),
    }


def bench_seed_method(pg_uri: str, base: str, n: int, ids: list[str]) -> dict:
    """The seed's way: one videos.list call per video, one INSERT + COMMIT per row."""
    with psycopg.connect(pg_uri) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS seed_metrics (time timestamptz, video_id text, views bigint, likes bigint, comments bigint)"
        )
        conn.execute("TRUNCATE seed_metrics")
        conn.commit()
        session = requests.Session()
        started = time.perf_counter()
        for vid in ids[:n]:
            response = session.get(
                base + "/videos", params={"part": "statistics", "id": vid}, timeout=30
            )
            items = response.json().get("items", [])
            if not items:
                continue
            stats = items[0]["statistics"]
            conn.execute(
                "INSERT INTO seed_metrics (time, video_id, views, likes, comments) VALUES (now(), %s, %s, %s, %s)",
                (vid, int(stats["viewCount"]), stats.get("likeCount"), stats.get("commentCount")),
            )
            conn.commit()
        wall = time.perf_counter() - started
    return {"n": n, "wall_s": wall, "calls": n}


def child(args) -> None:
    """One measurement in a process of its own, so its peak RSS is its own; prints JSON."""
    engine = get_engine(args.db)
    ids = visible_ids(args.n)
    if args.child == "pipeline":
        result = bench_pipeline(engine, args.db, args.base, args.n, ids)
    else:
        pg_uri = args.db.replace("postgresql+psycopg://", "postgresql://", 1)
        result = bench_seed_method(pg_uri, args.base, args.n, ids)
        result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result), flush=True)


def measure(kind: str, n: int, base: str, db: str) -> dict:
    env = dict(
        os.environ,
        YTMETRICS_DATABASE_URL=db,
        YTMETRICS_SOURCE="simulator",
        YTMETRICS_PARTITIONS_START=str(datetime.now(UTC).date() - timedelta(days=2)),
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--n", str(n), "--base", base, "--db", db],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--baseline-sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--child", choices=["pipeline", "seed"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    root = Path(tempfile.mkdtemp(prefix="ytm-bench-"))
    port = free_port()
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ytmetrics_dagster.youtube.simulator",
            "--port",
            str(port),
            "--latency-ms",
            str(args.latency_ms),
            "--quota",
            "100000000",
        ],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/youtube/v3"
    try:
        for _ in range(50):
            try:
                requests.get(base.replace("/youtube/v3", "/_simulator/health"), timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        # warm the simulator's catalog (it indexes its channels' uploads on first use)
        requests.get(
            base + "/videos", params={"part": "statistics", "id": "AAAAAAAAAAA"}, timeout=60
        )
        server = start_embedded_postgres(root / "pgdata")
        url = database_on_server(server, "ytmetrics_bench", "psycopg")
        upgrade(get_engine(url))

        print(
            f"# snapshot benchmark, {args.latency_ms:.0f} ms added latency per call, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; every figure below comes from this one "
            "run, each measurement in a fresh process (its own peak RSS)"
        )
        print()
        print(
            "| videos | wall s | fetch s | write s | API calls (= ceil(N/50)?) | units | rows/s into Postgres | peak RSS MB |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        pipeline = {}
        for n in args.sizes:
            r = measure("pipeline", n, base, url)
            pipeline[n] = r
            ok = "yes" if r["calls"] == r["expected_calls"] else f"NO ({r['expected_calls']})"
            print(
                f"| {n:,} | {r['wall_s']:.2f} | {r['fetch_s']:.2f} | {r['write_s']:.2f} | {r['calls']} ({ok}) "
                f"| {r['units']} | {r['rows_per_s']:,.0f} | {r['peak_rss_mb']:.0f} |",
                flush=True,
            )
        if args.baseline_sizes:
            print()
            print(
                "The seed's method (one `videos.list` call per video, sequential, one INSERT and "
                "COMMIT per row), measured in the same run against the same simulator and "
                "database, next to the pipeline's figure for the same size from the table above:"
            )
            print()
            print(
                "| videos | seed method wall s | seed calls | seed peak RSS MB | pipeline wall s | speed-up |"
            )
            print("|---:|---:|---:|---:|---:|---:|")
            for n in args.baseline_sizes:
                p = pipeline.get(n) or measure("pipeline", n, base, url)
                b = measure("seed", n, base, url)
                print(
                    f"| {n:,} | {b['wall_s']:.1f} | {b['calls']:,} | {b['peak_rss_mb']:.0f} | "
                    f"{p['wall_s']:.2f} | {b['wall_s'] / p['wall_s']:.0f}x |",
                    flush=True,
                )
    finally:
        sim.terminate()
        stop_embedded_postgres(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
