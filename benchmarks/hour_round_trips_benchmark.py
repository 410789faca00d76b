"""Benchmark: what one observed hour costs the warehouse in the snapshot asset's per-hour path
(issue #21), the path of every backfill and every scheduled run: statements sent and pooled
connections checked out (each checkout also runs the pool's pre-ping), counted with
SQLAlchemy's ``before_cursor_execute`` and pool ``checkout`` listeners, and the wall time of
the single-run backfill. Run on demand; results are recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/hour_round_trips_benchmark.py [--videos 3] [--hours 48 720]

"Before" figures: the same script with the package of another commit first on the path
(``git archive <commit> ytmetrics_dagster | tar -x -C DIR``, then ``PYTHONPATH=DIR``).
It starts its own embedded Postgres (a temporary data directory) and an in-process simulator
on 127.0.0.1, so it touches nothing else. Statements sent by the raw driver (COPY) are not
counted by the listener.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Hours well in the past (observed "as of" minute 5 by the simulator): from 33 days ago.
os.environ["YTMETRICS_SOURCE"] = "simulator"
os.environ["YTMETRICS_PARTITIONS_START"] = str(datetime.now(UTC).date() - timedelta(days=33))

import dagster as dg
from sqlalchemy import event

import ytmetrics_dagster
from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, dispose_engines, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.videos import apply_registrations
from ytmetrics_dagster.youtube.simulator import SimulatedWorld, SimulatorServer

START = datetime.fromisoformat(os.environ["YTMETRICS_PARTITIONS_START"]).replace(tzinfo=UTC)


def steady_ids(n: int) -> list[str]:
    """Videos that exist, are public before the window and never go away."""
    world = SimulatedWorld()
    return world.find_ids(
        lambda p: p.exists and p.gone_at is None and p.published_at < START,
        prefix="hourbench",
        limit=n,
    )


def track(engine, ids: list[str]) -> None:
    world = SimulatedWorld()
    details = [world.details(vid) for vid in ids]
    apply_registrations(engine, [], details, source="simulator", now=START)


def backfill(engine, resources, first: datetime, hours: int) -> dict:
    counted = {"statements": 0, "checkouts": 0}

    def statement(*args):
        counted["statements"] += 1

    def checkout(*args):
        counted["checkouts"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine.pool, "checkout", checkout)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        result = dg.materialize(
            [video_metric_snapshots],
            resources=resources,
            tags={
                "dagster/asset_partition_range_start": f"{first:%Y-%m-%d-%H:%M}",
                "dagster/asset_partition_range_end": (
                    f"{first + timedelta(hours=hours - 1):%Y-%m-%d-%H:%M}"
                ),
            },
            # every video hourly: each hour of the run is observed
            run_config={"ops": {"video_metric_snapshots": {"config": {"cadence": "*:1h"}}}},
        )
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine.pool, "checkout", checkout)
    assert result.success
    return {
        **counted,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--hours", type=int, nargs="+", default=[48, 720])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ytm-hour-bench-"))
    pgdata = root / "pgdata"
    try:
        with SimulatorServer("127.0.0.1", 0) as simulator:
            server = start_embedded_postgres(pgdata)
            url = database_on_server(server, "ytmetrics_bench", "psycopg")
            engine = get_engine(url)
            upgrade(engine)
            track(engine, steady_ids(args.videos))
            resources = {
                "youtube": YouTubeResource(source="simulator", base_url=simulator.base_url),
                "warehouse": WarehouseResource(database_url=url),
                "clock": ClockResource(),
            }
            print(
                f"# per observed hour, {args.videos} videos every hour, package "
                f"{Path(ytmetrics_dagster.__file__).parent}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            )
            print(
                "| hours in the run | statements/hour | checkouts/hour | backfill wall s "
                "| wall/hour | CPU of this process/hour |"
            )
            print("|---:|---:|---:|---:|---:|---:|")
            first = START
            for hours in args.hours:
                r = backfill(engine, resources, first, hours)
                first += timedelta(hours=hours)
                print(
                    f"| {hours} | {r['statements'] / hours:.1f} | {r['checkouts'] / hours:.1f} "
                    f"| {r['seconds']:.1f} | {r['seconds'] / hours * 1000:.0f} ms "
                    f"| {r['cpu'] / hours * 1000:.0f} ms |",
                    flush=True,
                )
            dispose_engines()
    finally:
        if pgdata.exists():
            stop_embedded_postgres(pgdata)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
