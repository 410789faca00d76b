"""Sensors evaluated on a Dagster instance whose storage is the embedded Postgres."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from ytmetrics_dagster.defs.channels.assets import channel_statistics
from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.registration.sensors import registration_requests_sensor
from ytmetrics_dagster.defs.resources import WarehouseResource, build_resources
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.defs.snapshots.sensors import new_videos_snapshot_sensor
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import normal_ids, register

pytestmark = pytest.mark.db


def test_instance_storage_is_postgres(instance):
    assert "Postgres" in type(instance.run_storage).__name__


def test_registration_sensor_launches_once_per_new_request(instance, engine, database_url):
    warehouse = WarehouseResource(database_url=database_url)

    context = dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
    assert isinstance(registration_requests_sensor(context), dg.SkipReason)

    ids = normal_ids(3)
    queue_registrations(engine, [(v, v) for v in ids[:2]])
    context = dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
    request = registration_requests_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == "registration-requests-through-2"
    assert request.run_config["ops"]["tracked_videos"]["config"]["refresh_active"] is False
    assert json.loads(context.cursor)["max_id"] == 2

    # same cursor, nothing new: no second run
    again = dg.build_sensor_context(
        instance=instance, cursor=context.cursor, resources={"warehouse": warehouse}
    )
    assert isinstance(registration_requests_sensor(again), dg.SkipReason)

    queue_registrations(engine, [(ids[2], ids[2])])
    later = dg.build_sensor_context(
        instance=instance, cursor=context.cursor, resources={"warehouse": warehouse}
    )
    request = registration_requests_sensor(later)
    assert request.run_key == "registration-requests-through-3"
    assert json.loads(later.cursor)["max_id"] == 3

    # the run never applied them (failed, cancelled): after 15 minutes they get a new run
    stale = json.dumps({"max_id": 3, "at": (datetime.now(UTC) - timedelta(minutes=16)).isoformat()})
    retry = dg.build_sensor_context(
        instance=instance, cursor=stale, resources={"warehouse": warehouse}
    )
    request = registration_requests_sensor(retry)
    assert isinstance(request, dg.RunRequest) and request.run_key.startswith(
        "registration-requests-retry-3-"
    )
    fresh = dg.build_sensor_context(
        instance=instance, cursor=retry.cursor, resources={"warehouse": warehouse}
    )
    assert isinstance(registration_requests_sensor(fresh), dg.SkipReason)


def _new_videos_context(instance, resources, cursor=None) -> dg.SensorEvaluationContext:
    """A tick's context for new_videos_snapshot_sensor, the assets it reads beside it."""
    defs = dg.Definitions(
        assets=[tracked_videos, video_metric_snapshots, video_growth_hourly, channel_statistics],
        sensors=[new_videos_snapshot_sensor],
        resources=resources,
    )
    return dg.build_sensor_context(
        instance=instance, definitions=defs, resources=resources, cursor=cursor
    )


def test_new_videos_trigger_an_observation_of_the_current_hour(instance, engine, resources):
    register(engine, resources, normal_ids(2), instance=instance)
    context = _new_videos_context(instance, resources)
    run_requests = new_videos_snapshot_sensor.evaluate_tick(context).run_requests
    assert len(run_requests) == 1
    assert run_requests[0].partition_key == hourly_partitions.get_last_partition_key()
    # the new videos only: the hour's channel statistics are the scheduled run's
    assert dg.AssetKey("channel_statistics") not in run_requests[0].asset_selection
    # the same materialization never triggers a second run
    again = _new_videos_context(instance, resources, cursor=context.cursor)
    assert not new_videos_snapshot_sensor.evaluate_tick(again).run_requests


def test_new_videos_go_into_the_hour_in_progress_on_the_deployments_clock(
    instance, engine, resources, monkeypatch
):
    # a deployment set an hour back (YTMETRICS_TEST_CLOCK_OFFSET_SECONDS) observes them there
    monkeypatch.setenv("YTMETRICS_TEST_CLOCK_OFFSET_SECONDS", "-3600")
    clock = build_resources()["clock"]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert abs((clock.now() - an_hour_ago).total_seconds()) < 60
    resources = {**resources, "clock": clock}
    register(engine, resources, normal_ids(2), instance=instance)
    context = _new_videos_context(instance, resources)
    (request,) = new_videos_snapshot_sensor.evaluate_tick(context).run_requests
    assert request.partition_key == clock.now().strftime("%Y-%m-%d-%H:00")
    assert request.partition_key != hourly_partitions.get_last_partition_key()
