"""Self-healing (issue #22): the hour in progress is watched from outside its runs, a dead run
releases what it held, and every closed hour is accounted for. See docs/self-healing.md.

- ``hour_watchdog_sensor``: if by minute ``snapshot minute + 10`` no full observation of the
  hour in progress exists and no attempt of it is queued or running, launch one more attempt
  while a whole attempt still fits before the hour's API deadline and the quota has the units.
  At most ``MAX_WATCHDOG_ATTEMPTS`` per hour.
- ``dead_run_release_sensor`` / ``canceled_run_release_sensor``: a run that failed (run
  monitoring failed it, or its step did) or was canceled frees its ``youtube_api`` pool slot
  and its quota reservation at once, so its retry can take them over.
- ``hour_accounting_sensor``: every closed hour since tracking began that holds no full
  observation and no ``missed_hours`` record gets one, with its cause ('no run', 'runs
  failed', 'warehouse unavailable'), and one ``missed_hour`` alert.

The decisions are plain functions of (instance, warehouse, now, cursor), evaluated directly by
the tests; the sensors only call them with the clock.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import HOUR_DEADLINE_MARGIN
from ytmetrics_dagster.defs.snapshots.jobs import hourly_snapshot_job
from ytmetrics_dagster.defs.snapshots.schedules import _snapshot_minute
from ytmetrics_dagster.defs.tags import CURRENT_HOUR_RUN_TAGS, MAX_RUNTIME_TAG
from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.warehouse import gaps, health
from ytmetrics_dagster.warehouse import quota as quota_store
from ytmetrics_dagster.warehouse.embedded import WarehouseStartError
from ytmetrics_dagster.warehouse.engine import DatabaseUnavailableError
from ytmetrics_dagster.youtube.client import BATCH_STATS_BUCKET

log = logging.getLogger(__name__)

PARTITION_TAG = "dagster/partition"
TRIGGER_TAG = "ytmetrics/trigger"
WATCHDOG_ATTEMPT_TAG = "ytmetrics/watchdog_attempt"

# Minutes after the scheduled run's minute by which the hour must hold its observation.
WATCH_AFTER_MINUTES = 10
# What a whole attempt needs (queue, start-up, fetch and write of a full hour, with room for a
# step retry): no attempt is launched that could not finish before the hour's API deadline.
ATTEMPT_SECONDS = 5 * 60
# Attempts the watchdog adds per hour. The schedule's run and its crash retry come first; two
# more cover the failure seen in practice (run and retry both killed) with one to spare, while
# a cause that persists all hour (API down, a bad key) costs at most 2 more attempts of
# ceil(videos/50) units each, never one per tick.
MAX_WATCHDOG_ATTEMPTS = 2
# A run of the hour that ended this recently may still get its crash retry (run_retries acts
# within seconds); the watchdog does not launch a second attempt next to it.
RETRY_GRACE_SECONDS = 120
# Closed hours recorded per tick (oldest first): a long outage is accounted in a few ticks.
MAX_HOURS_PER_TICK = 168
# Outages (warehouse down) remembered in the accounting cursor, to name an hour's cause.
MAX_OUTAGES = 50

IN_FLIGHT = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

WAREHOUSE_DOWN = (DatabaseUnavailableError, WarehouseStartError, OperationalError)


def partition_key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%d-%H:00")


def _hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def _observed(engine: Engine, hour: datetime) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM ytmetrics.snapshot_batches "
                    "WHERE snapshot_hour = :h AND kind IN ('hour', 'migrated'))"
                ),
                {"h": hour},
            ).scalar_one()
        )


def _hour_runs(instance: dg.DagsterInstance, keys, statuses=None) -> list[dg.DagsterRun]:
    return list(
        instance.get_runs(
            filters=dg.RunsFilter(
                job_name=hourly_snapshot_job.name,
                tags={PARTITION_TAG: list(keys)},
                statuses=statuses or [],
            )
        )
    )


# -- the watchdog ---------------------------------------------------------------------------


def watchdog(
    instance: dg.DagsterInstance,
    engine: Engine,
    youtube: YouTubeResource,
    now: datetime,
    cursor: str | None,
) -> tuple[dg.RunRequest | dg.SkipReason, str]:
    """(what to do, new cursor) for the hour in progress at ``now``. The cursor remembers an
    hour found observed, so later ticks of that hour query nothing."""
    hour = _hour_of(now)
    key = partition_key(hour)
    state = json.loads(cursor) if cursor else {}
    if state.get("hour") == key and state.get("observed"):
        return dg.SkipReason(f"hour {key} is observed"), json.dumps(state)
    watch_from = hour + timedelta(minutes=_snapshot_minute() + WATCH_AFTER_MINUTES)
    if now < watch_from:
        return dg.SkipReason(f"the hour is watched from {watch_from:%H:%M} UTC"), cursor or ""
    api_deadline = hour + timedelta(hours=1) - HOUR_DEADLINE_MARGIN
    latest_start = api_deadline - timedelta(seconds=ATTEMPT_SECONDS)
    state = {"hour": key, "observed": False}
    if _observed(engine, hour):
        state["observed"] = True
        return dg.SkipReason(f"hour {key} is observed"), json.dumps(state)
    in_flight = [
        r for r in _hour_runs(instance, [key], IN_FLIGHT) if r.tags.get(TRIGGER_TAG) != "new_videos"
    ]
    if in_flight:
        return dg.SkipReason(
            f"hour {key} not observed yet; run {in_flight[0].run_id[:8]} is "
            f"{in_flight[0].status.value}"
        ), json.dumps(state)
    ended = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=hourly_snapshot_job.name,
            tags={PARTITION_TAG: key},
            statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED],
        ),
        limit=10,
    )
    # run end times are the instance's wall clock (``now`` is the tick's, injectable in tests)
    wall = time.time()
    just_ended = [r for r in ended if r.end_time and wall - r.end_time < RETRY_GRACE_SECONDS]
    if just_ended:
        # the instance's crash retry of a killed run lands within seconds: not a second attempt
        return dg.SkipReason(
            f"hour {key} not observed; run {just_ended[0].dagster_run.run_id[:8]} ended "
            f"{wall - just_ended[0].end_time:.0f} s ago, its retry goes first"
        ), json.dumps(state)
    attempts = len(
        [r for r in _hour_runs(instance, [key]) if r.tags.get(TRIGGER_TAG) == "watchdog"]
    )
    if attempts >= MAX_WATCHDOG_ATTEMPTS:
        return dg.SkipReason(
            f"hour {key} not observed; the watchdog made its {MAX_WATCHDOG_ATTEMPTS} attempts"
        ), json.dumps(state)
    if now > latest_start:
        return dg.SkipReason(
            f"hour {key} not observed, but a whole attempt ({ATTEMPT_SECONDS} s) no longer "
            f"fits before {api_deadline:%H:%M:%S} UTC"
        ), json.dumps(state)
    # the hour's run is paced (docs/quota-pacing.md): it observes what the units left cover,
    # most valuable videos first, so an attempt is worth launching while any unit is left
    buckets = ["default"] + ([BATCH_STATS_BUCKET] if youtube.use_batch_get_stats else [])
    left = sum(max(quota_store.units_left(engine, youtube.budget, now, b), 0) for b in buckets)
    if left <= 0:
        return dg.SkipReason(
            f"hour {key} not observed; no quota units are left today for an attempt"
        ), json.dumps(state)
    attempt = attempts + 1
    return dg.RunRequest(
        run_key=f"watchdog-{key}-{attempt}",
        partition_key=key,
        tags={
            **CURRENT_HOUR_RUN_TAGS,
            TRIGGER_TAG: "watchdog",
            WATCHDOG_ATTEMPT_TAG: str(attempt),
            # the attempt ends before the hour's deadline whatever happens to it
            MAX_RUNTIME_TAG: str(max(60, int((api_deadline - now).total_seconds()))),
        },
    ), json.dumps(state)


@dg.sensor(
    name="hour_watchdog_sensor",
    job=hourly_snapshot_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        f"Watches the hour in progress from outside its runs: if {WATCH_AFTER_MINUTES} minutes "
        "after the scheduled run's minute the hour holds no full observation and no attempt is "
        "queued or running, launches another (tagged ytmetrics/trigger=watchdog) while a "
        f"whole attempt ({ATTEMPT_SECONDS // 60} min) fits before the hour's API deadline and "
        f"the quota has its units; at most {MAX_WATCHDOG_ATTEMPTS} per hour."
    ),
)
def hour_watchdog_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, youtube: YouTubeResource
):
    if not load_settings().watchdog:
        return dg.SkipReason("turned off (YTMETRICS_WATCHDOG)")
    try:
        engine = warehouse.get_engine()
        result, cursor = watchdog(
            context.instance, engine, youtube, datetime.now(UTC), context.cursor
        )
    except WAREHOUSE_DOWN as err:
        health.report_down(warehouse.where(), str(err).splitlines()[0][:300])
        return dg.SkipReason("the warehouse is unavailable")
    if cursor != (context.cursor or ""):
        context.update_cursor(cursor)
    return result


# -- a dead run releases what it held --------------------------------------------------------


def release_run(instance: dg.DagsterInstance, engine: Engine, run_id: str) -> tuple[int, bool]:
    """Free the pool slots and quota reservations of an ended run: (reservations, slots)."""
    slots = bool(instance.event_log_storage.get_concurrency_run_ids() & {run_id})
    if slots:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return quota_store.release_for_runs(engine, [run_id]), slots


def _release(context: dg.RunStatusSensorContext, warehouse: WarehouseResource):
    run_id = context.dagster_run.run_id
    try:
        reservations, slots = release_run(context.instance, warehouse.get_engine(), run_id)
    except WAREHOUSE_DOWN as err:
        # the slot first: it is in Dagster's storage, not the warehouse
        context.instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        health.report_down(warehouse.where(), str(err).splitlines()[0][:300])
        return dg.SkipReason("slot freed; the warehouse is unavailable (reservation expires)")
    return dg.SkipReason(
        f"run {run_id[:8]} ended: {reservations} quota reservation(s) released, "
        f"pool slot {'freed' if slots else 'not held'}"
    )


@dg.run_failure_sensor(
    name="dead_run_release_sensor",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A failed run (its worker died and run monitoring failed it, or a step "
    "failed) frees its youtube_api pool slot and its quota reservation at once, so its "
    "retry can take them over instead of waiting for them to expire.",
)
def dead_run_release_sensor(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    return _release(context, warehouse)


@dg.run_status_sensor(
    name="canceled_run_release_sensor",
    run_status=dg.DagsterRunStatus.CANCELED,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A canceled (terminated) run frees its youtube_api pool slot and its quota "
    "reservation at once.",
)
def canceled_run_release_sensor(context: dg.RunStatusSensorContext, warehouse: WarehouseResource):
    return _release(context, warehouse)


# -- every closed hour is accounted for ------------------------------------------------------


def account(
    instance: dg.DagsterInstance, engine: Engine | None, now: datetime, cursor: str | None
) -> tuple[list[datetime], str]:
    """Record every closed, unaccounted hour (see module docstring): (hours recorded, new
    cursor). ``engine`` None means the warehouse is down: the outage is noted in the cursor,
    so the hours it covers are recorded as 'warehouse unavailable' once it is back."""
    state = json.loads(cursor) if cursor else {}
    outages: list[list[str]] = state.get("outages", [])
    down_since = state.get("down_since")
    if engine is None:
        state["down_since"] = down_since or now.isoformat()
        return [], json.dumps(state)
    if down_since:
        outages = [*outages, [down_since, now.isoformat()]][-MAX_OUTAGES:]
    state = {"outages": outages, "down_since": None}
    last_closed = _hour_of(now) - timedelta(hours=1)
    hours = gaps.unaccounted_hours(engine, last_closed, MAX_HOURS_PER_TICK)
    if not hours:
        return [], json.dumps(state)
    runs: dict[str, list[dg.DagsterRun]] = {}
    for run in _hour_runs(instance, [partition_key(h) for h in hours]):
        runs.setdefault(run.tags.get(PARTITION_TAG, ""), []).append(run)
    spans = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in outages]
    entries = []
    for hour in hours:
        end = hour + timedelta(hours=1)
        tried = runs.get(partition_key(hour), [])
        if any(a < end and b > hour for a, b in spans):
            cause, reason = "warehouse unavailable", "the warehouse was unavailable that hour"
        elif tried:
            listed = ", ".join(f"{r.run_id[:8]} {r.status.value}" for r in tried[:5])
            cause, reason = "runs failed", f"{len(tried)} attempt(s), none observed it: {listed}"
        else:
            cause, reason = "no run", "no run tried to observe it (scheduler or daemon down?)"
        entries.append((hour, cause, reason))
    return gaps.record_unaccounted(engine, entries), json.dumps(state)


@dg.sensor(
    name="hour_accounting_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every closed hour since tracking began that holds no full observation and no "
        "missed_hours record gets one, with its cause (no run, runs failed, warehouse "
        "unavailable), and one missed_hour alert, as soon as the warehouse is reachable; "
        f"at most {MAX_HOURS_PER_TICK} hours a tick, oldest first. Never twice (the record's "
        "key is the hour)."
    ),
)
def hour_accounting_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, clock: ClockResource
):
    # which hours are closed is read on the clock the snapshot asset reads (the real one)
    now = clock.now()
    try:
        engine = warehouse.get_engine()
        recorded, cursor = account(context.instance, engine, now, context.cursor)
    except WAREHOUSE_DOWN as err:
        health.report_down(warehouse.where(), str(err).splitlines()[0][:300])
        _, cursor = account(context.instance, None, now, context.cursor)
        context.update_cursor(cursor)
        return dg.SkipReason("the warehouse is unavailable; its outage is noted")
    context.update_cursor(cursor)
    if recorded:
        context.log.warning(
            "%d closed hour(s) recorded as missed: %s",
            len(recorded),
            ", ".join(partition_key(h) for h in recorded[:24]),
        )
        return dg.SkipReason(f"{len(recorded)} hour(s) recorded as missed")
    return dg.SkipReason("every closed hour is observed or recorded")
