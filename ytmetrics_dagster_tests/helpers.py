"""Test helpers: find simulated videos with given traits (deterministic)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from ytmetrics_dagster.defs.resources import ClockResource
from ytmetrics_dagster.youtube.simulator import SimulatedWorld

CATALOG = SimulatedWorld()
# Partitions the tests materialize: well in the past, after PARTITIONS_START.
DAY = datetime(2026, 11, 20, tzinfo=UTC)


def steady(p) -> bool:
    """Exists, published before the test window, never goes away."""
    return p.exists and p.gone_at is None and p.published_at < datetime(2026, 11, 10, tzinfo=UTC)


def find(predicate, limit: int = 1, prefix: str = "test") -> list[str]:
    return CATALOG.find_ids(predicate, prefix=prefix, limit=limit)


def normal_ids(n: int) -> list[str]:
    return find(lambda p: steady(p) and not p.likes_hidden and not p.comments_disabled, n, "normal")


def hidden_likes_id() -> str:
    return find(lambda p: steady(p) and p.likes_hidden and not p.comments_disabled, 1, "hidden")[0]


def comments_off_id() -> str:
    return find(
        lambda p: steady(p) and p.comments_disabled and not p.likes_hidden, 1, "nocomments"
    )[0]


def nonexistent_id() -> str:
    return find(lambda p: not p.exists, 1, "ghost")[0]


# A test standing this close to the end of an hour has its clock set back: it must observe
# one hour in progress from start to end, before the snapshot asset's deadline (90 s before
# the hour closes), however long it takes.
HOUR_END_MARGIN = timedelta(minutes=5)
# where in the hour a set-back clock stands (the same hour as the real clock: Dagster, the
# sensors and the simulator keep reading that)
SET_BACK_TO_MINUTE = 25
# The hourly partitions' key format (defs/partitions.py).
HOUR_KEY = "%Y-%m-%d-%H:%M"


def hour_key(at: datetime) -> str:
    """The key of the hourly partition ``at`` falls in."""
    return at.replace(minute=0, second=0, microsecond=0).strftime(HOUR_KEY)


def register(engine, resources, ids, **kwargs):
    """Queue the videos for registration (as the CLI does) and run tracked_videos; asserts the
    run succeeded and returns its result."""
    import dagster as dg

    from ytmetrics_dagster.defs.registration.assets import tracked_videos
    from ytmetrics_dagster.warehouse.registrations import queue_registrations

    queue_registrations(engine, [(v, v) for v in ids])
    result = dg.materialize([tracked_videos], resources=resources, **kwargs)
    assert result.success
    return result


def snapshot(resources, at: datetime, **kwargs):
    """Materialize video_metric_snapshots for the hour ``at`` falls in (the result, whatever
    it is: tests of failures pass raise_on_error=False)."""
    import dagster as dg

    from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

    return dg.materialize(
        [video_metric_snapshots], partition_key=hour_key(at), resources=resources, **kwargs
    )


def free_port() -> int:
    """A port of 127.0.0.1 free a moment ago (for a server the test starts), from below the
    kernel's ephemeral range. A port ``bind(0)`` picks comes from that range, which is also where
    the outgoing connections of the processes started next (the stack's gRPC and HTTP clients)
    get their local ports: in CI one of them held a dashboard's port for minutes (uvicorn's exit
    3, "address already in use"), and `make run` never came up."""
    import random
    import socket
    from pathlib import Path

    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    pick = random.SystemRandom()
    if low > 16000:  # else an unusual range: ask the kernel
        for _ in range(200):
            port = pick.randrange(15000, low)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    predicate, timeout: float, what: str, interval: float = 0.5, check=None, details=None
):
    """Call ``predicate`` until it returns something true and return that; on timeout an
    AssertionError names ``what`` (and adds ``details()``, e.g. log tails). ``check()``, called
    each round, may raise first (e.g. when a process the wait depends on has exited)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if check is not None:
            check()
        if time.monotonic() > deadline:
            extra = details() if details is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{extra}")
        time.sleep(interval)


def frame(engine, sql: str, **params):
    """The rows of a query as a DataFrame."""
    import pandas as pd
    from sqlalchemy import text

    with engine.connect() as conn:
        return pd.read_sql_query(text(sql), conn, params=params)


def hour_clock() -> ClockResource:
    """A clock for one test: the real UTC clock, unless the hour in progress closes within
    HOUR_END_MARGIN; then the same clock set back to minute 25 of that hour, so that the hour
    stays in progress for the test (instead of the test waiting for the next hour)."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    # YTMETRICS_TEST_CLOCK=set-back: every test as if it began in an hour's last minutes
    forced = os.environ.get("YTMETRICS_TEST_CLOCK") == "set-back"
    if hour + timedelta(hours=1) - now >= HOUR_END_MARGIN and not forced:
        return ClockResource()
    stand_at = hour + timedelta(minutes=SET_BACK_TO_MINUTE)
    return ClockResource(offset_seconds=(stand_at - now).total_seconds())


# This test's clock (conftest gives every test its own, and the ``resources`` fixture passes
# it to the snapshot asset and the checks).
_clock = hour_clock()


def use_new_clock() -> ClockResource:
    global _clock
    _clock = hour_clock()
    return _clock


def current_clock() -> ClockResource:
    return _clock


def clock_run_config() -> dict:
    """Run config giving a deployment's run (launched from outside the test process) this
    test's clock."""
    return {"resources": {"clock": {"config": {"offset_seconds": _clock.offset_seconds}}}}


def current_hour() -> datetime:
    """The hour in progress on this test's clock: it stays in progress for the whole test."""
    return _clock.now().replace(minute=0, second=0, microsecond=0)


def snapshot_minute_away() -> str:
    """YTMETRICS_SNAPSHOT_MINUTE for a daemon a test starts: half an hour from now, so the
    hourly schedule does not fire while the test runs (its run would observe the hour in progress
    next to the test's own runs, or take the run slot the test waits for). It also moves the hour
    watchdog's start in the hour: such a test sets YTMETRICS_WATCHDOG=off as well."""
    return str((datetime.now(UTC).minute + 30) % 60)


def hour_range(first: datetime, last: datetime) -> dict[str, str]:
    """Run tags that make one run cover the hourly partitions first..last (a backfill range)."""
    return {
        "dagster/asset_partition_range_start": first.strftime("%Y-%m-%d-%H:%M"),
        "dagster/asset_partition_range_end": last.strftime("%Y-%m-%d-%H:%M"),
    }


def track_gone_video(engine, gone_before: datetime) -> str:
    """A simulated video that went away between a day before ``gone_before`` and it, tracked
    since before then (YouTube would no longer let it be registered today)."""
    from ytmetrics_dagster.warehouse.videos import apply_registrations

    gone = CATALOG.find_ids(
        lambda p: (
            p.exists
            and p.gone_at is not None
            and p.published_at < DAY - timedelta(days=2)
            and DAY - timedelta(days=1) < p.gone_at < gone_before
        ),
        prefix="gone",
    )[0]
    apply_registrations(engine, [], [CATALOG.details(gone)], source="simulator", now=DAY)
    return gone


def published_between(after: datetime, before: datetime, prefix: str) -> str:
    """A simulated video that exists, never goes away and was published in (after, before)."""
    return find(
        lambda p: p.exists and p.gone_at is None and after < p.published_at < before, 1, prefix
    )[0]


def spend_units(engine, units: int, at: datetime, bucket: str = "default") -> None:
    """Put ``units`` already spent today into the quota ledger (one settled row)."""
    from sqlalchemy import text

    from ytmetrics_dagster.warehouse.quota import quota_day

    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.api_calls (called_at, quota_day, method, bucket, units,
                    http_status, source, settled_at)
                VALUES (:at, :day, 'videos', :bucket, :units, 200, 'simulator', :at)
                """
            ),
            {"at": at, "day": quota_day(at), "bucket": bucket, "units": units},
        )


def track_directly(engine, ids: list[str], at: datetime | None = None) -> None:
    """Track simulated videos without spending API calls (their details from the catalog)."""
    from ytmetrics_dagster.warehouse.videos import apply_registrations

    details = [CATALOG.details(vid) for vid in ids]
    apply_registrations(engine, [], details, source="simulator", now=at or datetime.now(UTC))


def observe_directly(engine, hours: list[datetime]) -> None:
    """Write the hours ``hours`` (closed ones, in this order) straight to the warehouse as the
    snapshot asset's run of each hour writes them: the videos due then under the configured
    cadence (YTMETRICS_CADENCE; the tests' is hourly), their figures from the simulator at its
    fixed minute, one transaction an hour, without a Dagster run or an API call (so no quota
    ledger row). For tests of what reads or keeps the history (query plans, retention, growth,
    reads); a test of the asset materializes it. ``test_storage`` checks the rows are the
    asset's."""
    from ytmetrics_dagster.defs.snapshots.assets import SIMULATED_OBSERVATION_MINUTE, SnapshotConfig
    from ytmetrics_dagster.domain.cadence import parse_cadence
    from ytmetrics_dagster.warehouse.collections import collected_videos
    from ytmetrics_dagster.warehouse.quota import units_for_ids
    from ytmetrics_dagster.warehouse.snapshots import replace_snapshot_partition
    from ytmetrics_dagster.warehouse.videos import due_video_ids

    config = SnapshotConfig()
    cadence = parse_cadence(config.cadence, config.daily_hour_utc)
    for hour in hours:
        at = hour + timedelta(minutes=SIMULATED_OBSERVATION_MINUTE)
        due = due_video_ids(engine, hour, at, cadence.tiers_json(), cadence.anchor_hour)
        profiles = [CATALOG.profile(v) for v in sorted({*due, *collected_videos(engine, hour)})]
        replace_snapshot_partition(
            engine,
            hour,
            [s for p in profiles if (s := p.statistics_at(at)) is not None],
            observed_at=at,
            source="simulator",
            missing_ids=[p.video_id for p in profiles if not p.is_visible(at)],
            unavailable_after_misses=config.unavailable_after_misses,
            videos_due=len(profiles),
            api_calls=units_for_ids(len(profiles)),
        )
