"""Purging Dagster's own run history: a real DagsterInstance on Postgres (dagster-postgres),
old and new runs, finished and not."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from ytmetrics_dagster.defs.operations.maintenance import (
    dagster_run_purge_job,
    dagster_run_purge_schedule,
    purge_finished_runs,
)
from ytmetrics_dagster.settings import dagster_run_retention_days
from ytmetrics_dagster.warehouse.engine import database_on_server

from .dagster_storage import pooled

pytestmark = pytest.mark.db


@dg.op
def step():
    return 1


@dg.op
def broken_step():
    raise RuntimeError("this run fails")


@dg.job
def small_job():
    step()


@dg.job
def failing_job():
    broken_step()


@pytest.fixture
def instance(pg_server):
    url = database_on_server(pg_server, "dagster_retention_test", "psycopg2")
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": pooled(url)}}}  # dagster_storage.py
    ) as instance:
        instance.wipe()
        yield instance, url.replace("postgresql+psycopg2://", "postgresql://")


def age(url: str, run_ids: list[str], days: int) -> None:
    """Make runs look ``days`` old: created and last updated then."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE runs SET create_timestamp = (now() AT TIME ZONE 'utc') - make_interval(days => %s), "
            "update_timestamp = (now() AT TIME ZONE 'utc') - make_interval(days => %s) "
            "WHERE run_id = ANY(%s)",
            (days, days, run_ids),
        )


def runs(instance, n: int, job=small_job) -> list[str]:
    return [
        job.execute_in_process(instance=instance, raise_on_error=False).run_id for _ in range(n)
    ]


def purge(instance, **config):
    result = dagster_run_purge_job.execute_in_process(
        instance=instance, run_config={"ops": {"purge_old_dagster_runs": {"config": config}}}
    )
    assert result.success
    (event,) = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = event.event_specific_data.metadata
    return result.output_for_node("purge_old_dagster_runs"), metadata


def test_finished_runs_older_than_the_retention_are_purged_with_their_events(instance):
    instance, url = instance
    old_success = runs(instance, 3)
    old_failure = runs(instance, 2, failing_job)
    old_canceled = [
        instance.create_run_for_job(small_job, status=dg.DagsterRunStatus.CANCELED).run_id
    ]
    old_unfinished = [
        instance.create_run_for_job(small_job, status=status).run_id
        for status in (
            dg.DagsterRunStatus.STARTED,
            dg.DagsterRunStatus.NOT_STARTED,
            dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.CANCELING,
        )
    ]
    recent = runs(instance, 2)
    edge = runs(instance, 1)  # 89 days: inside a 90-day retention
    old_finished = old_success + old_failure + old_canceled
    age(url, old_finished + old_unfinished, days=200)
    age(url, edge, days=89)
    assert instance.get_run_by_id(old_failure[0]).status == dg.DagsterRunStatus.FAILURE
    assert len(instance.all_logs(old_success[0])) > 5

    # batches of 2: several rounds
    purged, metadata = purge(instance, retention_days=90, batch_size=2)
    assert purged == len(old_finished) == 6
    assert metadata["runs_purged"].value == 6 and metadata["retention_days"].value == 90
    for run_id in old_finished:
        assert instance.get_run_by_id(run_id) is None
        assert instance.all_logs(run_id) == []
    for run_id in old_unfinished + recent + edge:
        assert instance.get_run_by_id(run_id) is not None
    assert len(instance.all_logs(recent[0])) > 5

    # nothing left to purge: the purge runs themselves are new
    assert purge(instance, retention_days=90)[0] == 0


def test_zero_days_keeps_everything_and_the_cap_leaves_the_rest_for_tomorrow(instance):
    instance, url = instance
    old = runs(instance, 4)
    age(url, old, days=400)
    purged, metadata = purge(instance, retention_days=0)
    assert purged == 0 and metadata["runs_purged"].value == 0
    assert all(instance.get_run_by_id(r) for r in old)
    month_ago = datetime.now(UTC) - timedelta(days=30)
    assert purge_finished_runs(instance, month_ago, batch_size=2, max_runs=3) == 3
    assert sum(instance.get_run_by_id(r) is None for r in old) == 3
    # oldest first
    assert instance.get_run_by_id(old[-1]) is not None


@pytest.mark.unit
def test_retention_setting_semantics(monkeypatch):
    monkeypatch.delenv("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", raising=False)
    assert dagster_run_retention_days() == 90
    monkeypatch.setenv("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", "")
    assert dagster_run_retention_days() == 90
    monkeypatch.setenv("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", "0")
    assert dagster_run_retention_days() == 0
    monkeypatch.setenv("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", "30")
    assert dagster_run_retention_days() == 30
    for bad in ("-1", "ninety", "1.5"):
        monkeypatch.setenv("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", bad)
        with pytest.raises(ValueError, match="YTMETRICS_DAGSTER_RUN_RETENTION_DAYS"):
            dagster_run_retention_days()


@pytest.mark.unit
def test_the_purge_runs_daily():
    assert dagster_run_purge_schedule.cron_schedule == "45 4 * * *"
    assert dagster_run_purge_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert dagster_run_purge_schedule.job_name == "dagster_run_purge_job"
