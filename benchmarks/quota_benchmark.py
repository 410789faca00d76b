"""Benchmark: quota units spent in one day by a deployment of 1,000 hourly + 10,000 daily
videos with 20 registrations an hour (issue #9), measured by replaying the day.

    .venv/bin/python benchmarks/quota_benchmark.py [--hourly 1000] [--daily 10000]
        [--registrations-per-hour 20] [--hours 24]

For each simulated hour H of a past day (the simulator answers "as of" H): the scheduled
hourly run observes hour H; then 20 registrations arrive one at a time, each applied by a
`tracked_videos` run (as registration_requests_sensor launches it) and followed by the run
that `new_videos_snapshot_sensor` requests for it (evaluated for real; its partition is the hour
in progress, H). At 03:00 the daily refresh of details runs. Units are counted by the simulator
itself. The same script runs against older code (it adapts to the resource's fields), so
"before" and "after" are measured the same way; it starts its own embedded Postgres and
simulator, so it touches nothing else.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("YTMETRICS_SOURCE", "simulator")
os.environ.setdefault("YTMETRICS_PARTITIONS_START", "2026-01-01")
os.environ.setdefault("YTMETRICS_CADENCE", "7d:1h,*:24h")
os.environ.setdefault("YTMETRICS_DAILY_HOUR_UTC", "12")
os.environ.setdefault("YTMETRICS_STEP_RETRY_DELAY_SECONDS", "0.1")

import dagster as dg

from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.defs.snapshots.sensors import new_videos_snapshot_sensor
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.videos import (
    apply_registrations,
    queue_registrations,
)
from ytmetrics_dagster.youtube.simulator import SimulatedWorld, SimulatorServer

HOUR = "%Y-%m-%d-%H:%M"


def youtube_resource(base_url: str) -> YouTubeResource:
    # No budget: what the day needs is measured, and compared with the 10,000-unit quota.
    unlimited = {"daily_quota_units": 10**9, "discovery_reserve_units": 0}
    fields = getattr(YouTubeResource, "model_fields", {})
    if "source" in fields:
        return YouTubeResource(source="simulator", base_url=base_url, **unlimited)
    return YouTubeResource(base_url=base_url, **unlimited)  # before the source setting existed


def pick(catalog: SimulatedWorld, n: int, prefix: str, lo: datetime, hi: datetime) -> list[str]:
    return catalog.find_ids(
        lambda p: p.exists and p.gone_at is None and lo < p.published_at < hi,
        prefix=prefix,
        limit=n,
        scan=n * 400,
    )


def track(engine, catalog: SimulatedWorld, ids: list[str], at: datetime) -> None:
    details = [catalog.details(vid) for vid in ids]
    for i in range(0, len(details), 2000):
        apply_registrations(engine, [], details[i : i + 2000], source="simulator", now=at)


def spent(simulator) -> int:
    """Units charged so far: every request costs 1 unit (videos, batchGetStats, channels,
    playlistItems), counted by the simulator as it receives them."""
    with simulator.state.lock:
        return sum(simulator.state.requests_by_method.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hourly", type=int, default=1000)
    parser.add_argument("--daily", type=int, default=10000)
    parser.add_argument("--registrations-per-hour", type=int, default=20)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="ytm-quota-bench-"))
    pgdata = root / "pgdata"
    server = start_embedded_postgres(pgdata)
    simulator = SimulatorServer().start()
    simulator.state.quota_limit = 10**9  # count everything; the budget is what we measure
    try:
        url = database_on_server(server, "bench", "psycopg")
        engine = get_engine(url)
        upgrade(engine)
        resources = {
            "youtube": youtube_resource(simulator.base_url),
            "warehouse": WarehouseResource(database_url=url),
            "clock": ClockResource(),
        }
        # a past UTC day, so every hour can be observed "as of" its own time
        day = (datetime.now(UTC) - timedelta(days=3)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        catalog = SimulatedWorld()
        hourly = pick(
            catalog, args.hourly, "qb-hourly", day - timedelta(days=6), day - timedelta(days=1)
        )
        daily = pick(
            catalog, args.daily, "qb-daily", day - timedelta(days=400), day - timedelta(days=30)
        )
        new = pick(
            catalog,
            args.registrations_per_hour * args.hours,
            "qb-new",
            day - timedelta(days=5),
            day - timedelta(days=1),
        )
        track(engine, catalog, hourly + daily, day - timedelta(days=1))
        # the day before was observed (the daily videos at its 12:00), so the day is steady
        prior = day - timedelta(hours=12)
        assert dg.materialize(
            [video_metric_snapshots], partition_key=prior.strftime(HOUR), resources=resources
        ).success
        start_units = spent(simulator)
        started = time.monotonic()
        counts = {"hourly runs": 0, "registration runs": 0, "new-video runs": 0, "refresh runs": 0}
        units = {k: 0 for k in counts}
        with dg.instance_for_test() as instance:
            defs = dg.Definitions(
                assets=[tracked_videos, video_metric_snapshots, video_growth_hourly],
                sensors=[new_videos_snapshot_sensor],
                resources=resources,
            )
            job = defs.resolve_implicit_global_asset_job_def()
            cursor = None
            for h in range(args.hours):
                hour = day + timedelta(hours=h)
                before = spent(simulator)
                assert dg.materialize(
                    [video_metric_snapshots, video_growth_hourly],
                    partition_key=hour.strftime(HOUR),
                    resources=resources,
                    instance=instance,
                ).success
                units["hourly runs"] += spent(simulator) - before
                counts["hourly runs"] += 1
                for i in range(args.registrations_per_hour):
                    vid = new[h * args.registrations_per_hour + i]
                    queue_registrations(engine, [(vid, vid)], requested_by="benchmark")
                    before = spent(simulator)
                    run_config = {"ops": {"tracked_videos": {"config": {"refresh_active": False}}}}
                    assert dg.materialize(
                        [tracked_videos],
                        resources=resources,
                        instance=instance,
                        run_config=run_config,
                    ).success
                    units["registration runs"] += spent(simulator) - before
                    counts["registration runs"] += 1
                    context = dg.build_sensor_context(
                        instance=instance, definitions=defs, cursor=cursor
                    )
                    result = new_videos_snapshot_sensor.evaluate_tick(context)
                    cursor = context.cursor
                    for request in result.run_requests:
                        before = spent(simulator)
                        outcome = job.execute_in_process(
                            run_config=request.run_config or {},
                            partition_key=hour.strftime(HOUR),
                            instance=instance,
                            asset_selection=[
                                dg.AssetKey("video_metric_snapshots"),
                                dg.AssetKey("video_growth_hourly"),
                            ],
                            raise_on_error=False,
                        )
                        units["new-video runs"] += spent(simulator) - before
                        counts["new-video runs"] += 1
                        if not outcome.success:
                            print(f"  new-video run for {hour:%H:%M} failed", file=sys.stderr)
                if hour.hour == 3:
                    before = spent(simulator)
                    run_config = {"ops": {"tracked_videos": {"config": {"refresh_active": True}}}}
                    assert dg.materialize(
                        [tracked_videos],
                        resources=resources,
                        instance=instance,
                        run_config=run_config,
                    ).success
                    units["refresh runs"] += spent(simulator) - before
                    counts["refresh runs"] += 1
                print(
                    f"  {hour:%H:%M} UTC: {spent(simulator) - start_units:,} units so far",
                    flush=True,
                )
        total = spent(simulator) - start_units
        print()
        print(
            f"{args.hourly:,} hourly + {args.daily:,} daily videos, "
            f"{args.registrations_per_hour} registrations/hour, {args.hours} h replayed "
            f"in {time.monotonic() - started:.0f} s"
        )
        print("| runs | count | quota units |")
        print("|---|---:|---:|")
        for key in counts:
            print(f"| {key} | {counts[key]:,} | {units[key]:,} |")
        print(f"| **day total** | | **{total:,}** (the default quota is 10,000 a day) |")
    finally:
        simulator.stop()
        stop_embedded_postgres(pgdata)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
