"""Sensors: queued registrations become ``tracked_videos`` runs; new videos get observed now."""

import dagster as dg

from ytmetrics_dagster.defs.jobs import (
    hourly_snapshot_job,
    tracked_videos_job,
    tracked_videos_run_config,
)
from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse.videos import pending_summary


@dg.sensor(
    name="registration_requests_sensor",
    job=tracked_videos_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches tracked_videos when registration requests newer than the cursor are pending. "
        "The cursor is the highest request id already handed to a run; run_key makes a "
        "re-evaluated tick launch nothing twice."
    ),
)
def registration_requests_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    cursor = int(context.cursor) if context.cursor else 0
    pending, max_pending_id = pending_summary(warehouse.get_engine())
    if not pending or max_pending_id is None or max_pending_id <= cursor:
        return dg.SkipReason(f"no new registration requests (cursor {cursor}, pending {pending})")
    context.update_cursor(str(max_pending_id))
    return dg.RunRequest(
        run_key=f"registration-requests-through-{max_pending_id}",
        run_config=tracked_videos_run_config(refresh_active=False),
        tags={"ytmetrics/pending_requests": str(pending)},
    )


@dg.asset_sensor(
    asset_key=dg.AssetKey("tracked_videos"),
    job=hourly_snapshot_job,
    name="new_videos_snapshot_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "When tracked_videos registers new videos, re-observe the current hour at once so a "
        "new video's first hour is not lost waiting for the next scheduled tick."
    ),
)
def new_videos_snapshot_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    materialization = asset_event.asset_materialization
    registered = materialization.metadata.get("registered") if materialization else None
    if registered is None or not registered.value:
        return dg.SkipReason("tracked_videos registered no new videos")
    partition_key = hourly_partitions.get_last_partition_key()
    return dg.RunRequest(
        run_key=f"new-videos-{asset_event.run_id}",
        partition_key=partition_key,
        tags={"ytmetrics/trigger": "new_videos"},
    )
