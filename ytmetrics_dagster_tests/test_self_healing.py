"""Self-healing (issue #22), in process: the watchdog's decisions, the accounting of closed
hours, a dead run's release of what it held, true records, the key under a partial config, a
long Retry-After, and the warehouse's outage logged per change. Sensors are evaluated directly
against a real DagsterInstance (Postgres storage) and the real warehouse; the daemon tests
(termination) are in test_daemon_recovery.py, the restart ones in test_warehouse_restart.py.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRun
from sqlalchemy import text

from ytmetrics_dagster.defs.operations import healing
from ytmetrics_dagster.defs.resources import (
    AlertingResource,
    ClockResource,
    WarehouseResource,
    YouTubeResource,
)
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse import gaps, health
from ytmetrics_dagster.warehouse import quota as quota_store
from ytmetrics_dagster_tests.helpers import current_clock, current_hour, normal_ids, register

pytestmark = pytest.mark.db


@pytest.fixture
def deployed_days_ago(engine):
    """The deployment's first day two days back (tests look at hours before midnight too)."""
    [previous] = rows(
        engine, "SELECT value FROM ytmetrics.deployment WHERE key = 'partitions_start'"
    )
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ytmetrics.deployment SET value = :v WHERE key = 'partitions_start'"),
            {"v": min(day, previous.value)},
        )
    yield
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ytmetrics.deployment SET value = :v WHERE key = 'partitions_start'"),
            {"v": previous.value},
        )


def rows(engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%d-%H:00")


def add_run(instance, hour: datetime, status: dg.DagsterRunStatus, **tags) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(
            job_name="hourly_snapshot_job",
            run_id=run_id,
            status=status,
            tags={"dagster/partition": key(hour), **tags},
        )
    )
    return run_id


def snapshot(resources, hour: datetime, instance=None, **youtube) -> dg.ExecuteInProcessResult:
    if youtube:
        resources = dict(resources, youtube=YouTubeResource(**youtube))
    return dg.materialize(
        [video_metric_snapshots],
        partition_key=key(hour),
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )


# -- every closed hour is accounted for ------------------------------------------------------


def test_every_closed_hour_without_observation_is_recorded_once_with_its_cause(
    engine, resources, simulator, instance, deployed_days_ago
):
    register(engine, resources, normal_ids(3))
    # the test's clock, which the sensor reads too: its hour stays in progress
    now = current_clock().now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    # tracking began 4 hours ago: hours -3, -2, -1 are closed and had to be observed
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ytmetrics.videos SET added_at = :t"),
            {"t": hour - timedelta(hours=4) + timedelta(minutes=30)},
        )
    # -3: nobody tried; -2: observed (the simulator replays closed hours); -1: a run failed
    assert snapshot(resources, hour - timedelta(hours=2)).success
    failed = add_run(instance, hour - timedelta(hours=1), dg.DagsterRunStatus.FAILURE)

    def evaluate(cursor):
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={"warehouse": resources["warehouse"], "clock": resources["clock"]},
        )
        result = healing.hour_accounting_sensor(context)
        return result, context.cursor

    result, cursor = evaluate(None)
    assert "2 hour(s) recorded" in result.skip_message
    missed = rows(engine, "SELECT * FROM ytmetrics.missed_hours ORDER BY snapshot_hour")
    assert [(m.snapshot_hour, m.cause) for m in missed] == [
        (hour - timedelta(hours=3), "no run"),
        (hour - timedelta(hours=1), "runs failed"),
    ]
    assert failed[:8] in missed[1].reason
    alerts = rows(engine, "SELECT dedupe_key FROM ytmetrics.alerts WHERE kind = 'missed_hour'")
    assert sorted(a.dedupe_key for a in alerts) == [
        gaps.alert_key(hour - timedelta(hours=3)),
        gaps.alert_key(hour - timedelta(hours=1)),
    ]

    # again (and once more): nothing recorded twice
    for _ in range(2):
        result, cursor = evaluate(cursor)
        assert "every closed hour" in result.skip_message
    assert len(rows(engine, "SELECT * FROM ytmetrics.missed_hours")) == 2
    assert len(rows(engine, "SELECT * FROM ytmetrics.alerts WHERE kind = 'missed_hour'")) == 2


def test_hours_of_a_warehouse_outage_are_recorded_as_warehouse_unavailable(
    engine, resources, instance, deployed_days_ago
):
    register(engine, resources, normal_ids(1))
    now = current_clock().now()  # one reading: the hour cannot turn between two
    hour = now.replace(minute=0, second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ytmetrics.videos SET added_at = :t"), {"t": hour - timedelta(hours=3)}
        )
    # the sensor saw the warehouse down during hour -1, and up again now
    recorded, cursor = healing.account(instance, None, hour - timedelta(minutes=50), None)
    assert recorded == []
    recorded, cursor = healing.account(instance, engine, now, cursor)
    assert recorded == [hour - timedelta(hours=2), hour - timedelta(hours=1)]
    causes = rows(engine, "SELECT cause FROM ytmetrics.missed_hours ORDER BY snapshot_hour")
    assert [c.cause for c in causes] == ["no run", "warehouse unavailable"]


# -- records are true ------------------------------------------------------------------------


def test_a_complete_hour_is_never_recorded_missed_and_a_cleared_record_resolves_its_alert(
    engine, resources, simulator
):
    register(engine, resources, normal_ids(3))
    hour = current_hour()
    # an attempt that fails for lack of quota records the hour, with an alert
    failed = snapshot(
        resources,
        hour,
        source="simulator",
        base_url=simulator.base_url,
        daily_quota_units=0,
        discovery_reserve_units=0,
    )
    assert not failed.success
    [missed] = rows(engine, "SELECT cause FROM ytmetrics.missed_hours")
    assert missed.cause == "quota"
    [alert] = rows(engine, "SELECT resolved_at FROM ytmetrics.alerts WHERE kind = 'missed_hour'")
    assert alert.resolved_at is None

    # a later attempt observes the hour: the record goes, the alert is resolved
    assert snapshot(resources, hour).success
    assert rows(engine, "SELECT * FROM ytmetrics.missed_hours") == []
    [alert] = rows(engine, "SELECT resolved_at FROM ytmetrics.alerts WHERE kind = 'missed_hour'")
    assert alert.resolved_at is not None

    # a failed re-run of the now complete hour records nothing and alerts nothing new
    again = snapshot(
        resources,
        hour,
        source="simulator",
        base_url=simulator.base_url,
        daily_quota_units=0,
        discovery_reserve_units=0,
    )
    assert not again.success
    assert rows(engine, "SELECT * FROM ytmetrics.missed_hours") == []
    assert len(rows(engine, "SELECT * FROM ytmetrics.alerts WHERE kind = 'missed_hour'")) == 1


def test_a_partial_run_config_of_the_youtube_resource_keeps_the_key(
    engine, resources, simulator, monkeypatch
):
    register(engine, resources, normal_ids(3))
    before = simulator.state.requests_by_method.get("videos", 0)
    monkeypatch.setenv("YOUTUBE_API_KEY", "test-key-from-env")
    monkeypatch.setenv("YTMETRICS_YOUTUBE_API_URL", simulator.base_url)
    youtube = YouTubeResource(source="youtube", api_key=dg.EnvVar("YOUTUBE_API_KEY"))
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=key(current_hour()),
        resources=dict(resources, youtube=youtube),
        # only a budget: every other field falls back to its default
        run_config={"resources": {"youtube": {"config": {"daily_quota_units": 5000}}}},
        raise_on_error=False,
    )
    failure = [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success, failure
    assert simulator.state.requests_by_method.get("videos") == before + 1


# -- a long Retry-After ----------------------------------------------------------------------


def test_a_retry_after_longer_than_an_attempt_may_wait_gives_up_at_once_and_records_the_hour(
    engine, resources, simulator
):
    register(engine, resources, normal_ids(3))
    hour = current_hour()
    before = simulator.state.requests_by_method.get("videos", 0)
    simulator.state.script("videos", ["retryAfter:600"])
    started = time.monotonic()
    result = snapshot(resources, hour)
    took = time.monotonic() - started
    print(f"Retry-After 600: the attempt gave up after {took:.2f} s")
    assert not result.success
    assert took < 30, f"waited {took:.0f} s"
    # one attempt, no retry of the step or of the call
    assert simulator.state.requests_by_method.get("videos") == before + 1
    [missed] = rows(engine, "SELECT cause, reason FROM ytmetrics.missed_hours")
    assert missed.cause == "rate limited"
    assert "Retry-After 600" in missed.reason
    assert rows(engine, "SELECT * FROM ytmetrics.alerts WHERE kind = 'missed_hour'")
    # the reservation is released with the attempt
    assert (
        rows(engine, "SELECT * FROM ytmetrics.quota_reservations WHERE released_at IS NULL") == []
    )


# -- a dead run releases what it held --------------------------------------------------------


def test_a_dead_runs_reservation_does_not_refuse_its_retry(engine, resources, simulator, instance):
    register(engine, resources, normal_ids(3))
    hour = current_hour()
    now = current_clock().now()  # the retry's clock: its quota day
    # the budget fits one attempt (1 unit) beyond what registration spent
    budget = quota_store.units_used(engine, quota_store.quota_day(now)) + 1
    # the killed run: failed by run monitoring, its reservation (the whole budget) left open
    dead = add_run(instance, hour, dg.DagsterRunStatus.FAILURE)
    quota_store.reserve(engine, quota_store.Budget(budget, 0), 1, now, purpose="hour", run_id=dead)
    retry = snapshot(
        resources,
        hour,
        instance=instance,
        source="simulator",
        base_url=simulator.base_url,
        daily_quota_units=budget,
        discovery_reserve_units=0,
    )
    failure = [e.message for e in retry.all_events if e.event_type_value == "STEP_FAILURE"]
    assert retry.success, failure
    [reservation] = rows(
        engine, "SELECT released_at FROM ytmetrics.quota_reservations WHERE run_id = :r", r=dead
    )
    assert reservation.released_at is not None


def test_the_release_sensor_frees_a_failed_runs_slot_and_reservation(
    engine, resources, simulator, instance
):
    register(engine, resources, normal_ids(1))
    # a run that failed (any failure; run monitoring's is one), caught holding both
    failed = snapshot(
        resources,
        current_hour(),
        instance=instance,
        source="simulator",
        base_url=simulator.base_url,
        daily_quota_units=0,
        discovery_reserve_units=0,
    )
    assert not failed.success
    dead = failed.run_id
    storage = instance.event_log_storage
    storage.set_concurrency_slots("youtube_api", 1)
    assert storage.claim_concurrency_slot("youtube_api", dead, "video_metric_snapshots").is_claimed
    quota_store.reserve(
        engine, quota_store.Budget(10**6, 0), 5, datetime.now(UTC), purpose="hour", run_id=dead
    )
    event = next(
        e for e in failed.all_events if e.event_type_value in ("RUN_FAILURE", "PIPELINE_FAILURE")
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="dead_run_release_sensor",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(dead),
        dagster_event=event,
        resources={"warehouse": resources["warehouse"]},
    ).for_run_failure()
    result = healing.dead_run_release_sensor(context)
    assert "1 quota reservation(s) released, pool slot freed" in result.skip_message
    assert dead not in storage.get_concurrency_run_ids()
    open_rows = rows(
        engine,
        "SELECT * FROM ytmetrics.quota_reservations WHERE run_id = :r AND released_at IS NULL",
        r=dead,
    )
    assert open_rows == []


# -- the hour in progress is watched from outside its runs -----------------------------------


def test_the_watchdog_launches_a_bounded_attempt_only_when_one_is_needed_and_fits(
    engine, resources, simulator, instance
):
    register(engine, resources, normal_ids(3))
    hour = current_hour()
    youtube = resources["youtube"]
    at = hour + timedelta(minutes=20)

    # before the watch deadline: nothing, not even a query
    early, _ = healing.watchdog(instance, engine, youtube, hour + timedelta(minutes=6), None)
    assert isinstance(early, dg.SkipReason)

    # not observed, nothing in flight: an attempt, tagged as the watchdog's
    request, cursor = healing.watchdog(instance, engine, youtube, at, None)
    assert isinstance(request, dg.RunRequest), request
    assert request.partition_key == key(hour)
    assert request.tags["ytmetrics/trigger"] == "watchdog"
    assert request.tags["ytmetrics/watchdog_attempt"] == "1"
    assert int(request.tags["dagster/max_runtime"]) <= 40 * 60

    # an attempt queued or running: wait for it
    queued = add_run(
        instance, hour, dg.DagsterRunStatus.STARTED, **{"ytmetrics/trigger": "watchdog"}
    )
    skip, _ = healing.watchdog(instance, engine, youtube, at, cursor)
    assert queued[:8] in skip.skip_message

    # two watchdog attempts failed: the bound is reached
    instance.delete_run(queued)
    for _ in range(healing.MAX_WATCHDOG_ATTEMPTS):
        add_run(instance, hour, dg.DagsterRunStatus.FAILURE, **{"ytmetrics/trigger": "watchdog"})
    skip, _ = healing.watchdog(instance, engine, youtube, at, cursor)
    assert "made its 2 attempts" in skip.skip_message

    # a run of the hour that just failed: its crash retry goes first
    for run in instance.get_runs():
        instance.delete_run(run.run_id)
    just_failed = add_run(instance, hour, dg.DagsterRunStatus.STARTED)
    instance.report_run_failed(instance.get_run_by_id(just_failed))
    skip, _ = healing.watchdog(instance, engine, youtube, at, cursor)
    assert "its retry goes first" in skip.skip_message

    # too late for a whole attempt, or not enough quota: no attempt either
    fresh_instance_hour = hour  # same hour, bound lifted by deleting the runs
    for run in instance.get_runs():
        instance.delete_run(run.run_id)
    late, _ = healing.watchdog(instance, engine, youtube, hour + timedelta(minutes=55), None)
    assert "no longer fits" in late.skip_message
    poor = YouTubeResource(
        source="simulator",
        base_url=simulator.base_url,
        daily_quota_units=0,
        discovery_reserve_units=0,
    )
    short, _ = healing.watchdog(instance, engine, poor, at, None)
    assert "quota units" in short.skip_message

    # observed: skipped, and the cursor remembers it (later ticks query nothing)
    assert snapshot(resources, fresh_instance_hour).success
    done, cursor = healing.watchdog(instance, engine, youtube, at, None)
    assert "is observed" in done.skip_message
    again, _ = healing.watchdog(instance, None, youtube, at, cursor)
    assert "is observed" in again.skip_message


# -- the warehouse's outage is logged per change ---------------------------------------------


def test_sensors_log_one_line_when_the_warehouse_goes_down_not_one_per_tick(instance, caplog):
    from ytmetrics_dagster.definitions import defs

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    down = WarehouseResource(database_url=f"postgresql://ytm@127.0.0.1:{port}/ytmetrics")
    youtube = YouTubeResource(source="simulator", base_url="http://127.0.0.1:9")
    repo = defs().get_repository_def()
    # every plain sensor that reads the warehouse
    names = [
        "hour_accounting_sensor",
        "hour_watchdog_sensor",
        "registration_requests_sensor",
        "channel_uploads_sensor",
        "quota_alert_sensor",
        "quota_capacity_sensor",
        "viral_video_sensor",
        "alert_delivery_sensor",
        "warehouse_tables_sensor",
    ]
    caplog.set_level(logging.INFO, logger="ytmetrics.warehouse")
    cursors: dict[str, str | None] = {}
    for _ in range(3):
        for name in names:
            sensor = repo.get_sensor_def(name)
            context = dg.build_sensor_context(
                instance=instance,
                cursor=cursors.get(name),
                repository_def=repo,
                resources={
                    "warehouse": down,
                    "youtube": youtube,
                    "alerting": AlertingResource(webhook_url="http://127.0.0.1:9/hook"),
                    "clock": ClockResource(),
                },
            )
            result = sensor(context)
            assert "unavailable" in result.skip_message, (name, result)
            cursors[name] = context.cursor
    lines = [r for r in caplog.records if r.name == "ytmetrics.warehouse"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "warehouse unavailable" in lines[0].getMessage()
    assert health.is_down(down.where())
    # the outage is in the accounting cursor, for the hours it covers
    assert json.loads(cursors["hour_accounting_sensor"])["down_since"]


# -- a stopped run stops: its worker is killed if it does not stop by itself ------------------


@pytest.mark.system
def test_terminate_kills_a_worker_that_does_not_stop(dagster_pg_url, monkeypatch):
    import subprocess
    import sys

    from dagster._core.events import EngineEventData
    from dagster._core.storage.tags import GRPC_INFO_TAG

    monkeypatch.setenv("YTMETRICS_TERMINATE_GRACE_SECONDS", "0.5")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # the code server that started the worker is gone
    with dg.instance_for_test(
        overrides={
            "storage": {"postgres": {"postgres_url": dagster_pg_url}},
            "run_launcher": {
                "module": "ytmetrics_dagster.runtime.run_launcher",
                "class": "LocalRunLauncher",
            },
        }
    ) as instance:
        # a worker that ignores its interrupt (it is stuck, or deaf: its code server is gone)
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        try:
            run_id = add_run(
                instance,
                current_hour(),
                dg.DagsterRunStatus.STARTED,
                **{GRPC_INFO_TAG: json.dumps({"host": "127.0.0.1", "port": port})},
            )
            instance.report_engine_event(
                f"Started process for run (pid: {worker.pid}).",
                instance.get_run_by_id(run_id),
                EngineEventData(metadata={"pid": dg.MetadataValue.int(worker.pid)}),
            )
            assert instance.run_launcher.terminate(run_id)
            assert worker.wait(timeout=30) == -9  # SIGKILL
        finally:
            worker.kill()
            worker.wait()


def test_no_tracked_video_or_hours_dropped_by_retention_are_not_accounted(
    engine, resources, instance, deployed_days_ago
):
    now = current_clock().now()  # one reading: the hour cannot turn between two
    hour = now.replace(minute=0, second=0, microsecond=0)
    recorded, _ = healing.account(instance, engine, now, None)
    assert recorded == []  # nothing tracked yet: nothing to observe
    register(engine, resources, normal_ids(1))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ytmetrics.videos SET added_at = :t"), {"t": hour - timedelta(hours=6)}
        )
        # retention dropped everything before hour -2 (its records with it)
        conn.execute(
            text(
                "INSERT INTO ytmetrics.deployment (key, value) "
                "VALUES ('retention_reported_before:video_metric_snapshots', :v)"
            ),
            {"v": (hour - timedelta(hours=2)).isoformat()},
        )
    recorded, _ = healing.account(instance, engine, now, None)
    assert recorded == [hour - timedelta(hours=2), hour - timedelta(hours=1)]
