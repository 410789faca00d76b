"""Freshness watched from outside the runs: the Dagster daemon's freshness evaluation, on a real
instance (Postgres storage) with the project's code location loaded as `dagster dev` loads it,
turns a stalled asset FAIL and a freshly materialized one PASS; the alert sensor reports it."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import (
    InProcessTestWorkspaceLoadTarget,
    create_test_daemon_workspace_context,
    freeze_time,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._daemon.freshness import FreshnessDaemon
from sqlalchemy import text

from ytmetrics_dagster.definitions import defs
from ytmetrics_dagster.defs.operations.freshness import HOURLY_FRESHNESS, freshness_alert_sensor
from ytmetrics_dagster.defs.resources import AlertingResource, WarehouseResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

from .helpers import current_hour, normal_ids, track_directly

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = dg.AssetKey("video_metric_snapshots")


@pytest.fixture
def instance(dagster_pg_url):
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_pg_url}}}
    ) as instance:
        instance.wipe()
        yield instance


@pytest.fixture
def workspace(instance, database_url):
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            module_name="ytmetrics_dagster.definitions", working_directory=str(ROOT)
        ),
        location_name="ytmetrics",
    )
    with create_test_daemon_workspace_context(
        InProcessTestWorkspaceLoadTarget(origin), instance
    ) as context:
        yield context


def evaluate(workspace) -> None:
    """One iteration of the daemon's freshness evaluation, as `dagster-daemon` runs it."""
    asyncio.run(FreshnessDaemon()._evaluate_assets(workspace))


def state(instance, key=SNAPSHOTS) -> FreshnessState | None:
    record = instance.get_freshness_state_records([key]).get(key)
    return record.freshness_state if record else None


def test_a_stalled_deployment_turns_red_on_its_own(
    instance, workspace, engine, resources, database_url
):
    # a fresh deployment: nothing materialized yet is unknown, not failing
    evaluate(workspace)
    assert state(instance) == FreshnessState.UNKNOWN

    # the video is tracked without a run of tracked_videos: the subject is the snapshot asset's
    track_directly(engine, normal_ids(1))
    assert dg.materialize(
        [video_metric_snapshots],
        partition_key=current_hour().strftime("%Y-%m-%d-%H:%M"),
        resources=resources,
        instance=instance,
    ).success
    evaluate(workspace)
    assert state(instance) == FreshnessState.PASS

    # no run since: past the warning window the asset warns, past the failure window it fails,
    # with no job running to notice
    now = datetime.now(UTC)
    with freeze_time(now + HOURLY_FRESHNESS.warn_window.to_timedelta() + timedelta(minutes=1)):
        evaluate(workspace)
        assert state(instance) == FreshnessState.WARN
    stalled = now + HOURLY_FRESHNESS.fail_window.to_timedelta() + timedelta(minutes=1)
    with freeze_time(stalled):
        evaluate(workspace)
        assert state(instance) == FreshnessState.FAIL

    # the alert sensor turns the failure into one alert
    sensor_resources = {
        "warehouse": WarehouseResource(database_url=database_url),
        "alerting": AlertingResource(),
    }
    repo = defs().get_repository_def()
    for _ in range(2):
        with dg.build_sensor_context(
            instance=instance, resources=sensor_resources, repository_def=repo
        ) as context:
            freshness_alert_sensor(context)
    with engine.connect() as conn:
        alerts = conn.execute(
            text("SELECT kind, message FROM ytmetrics.alerts WHERE kind = 'freshness'")
        ).all()
    assert len(alerts) == 1
    assert "video_metric_snapshots is overdue" in alerts[0].message

    # a new materialization makes it fresh again
    assert dg.materialize(
        [video_metric_snapshots],
        partition_key=current_hour().strftime("%Y-%m-%d-%H:%M"),
        resources=resources,
        instance=instance,
    ).success
    evaluate(workspace)
    assert state(instance) == FreshnessState.PASS
