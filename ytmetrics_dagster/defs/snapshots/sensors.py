"""New videos get observed now: a registration run that registered videos starts their first observation."""

import dagster as dg

from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.resources import ClockResource
from ytmetrics_dagster.defs.snapshots.jobs import hourly_snapshot_job
from ytmetrics_dagster.defs.tags import CURRENT_HOUR_RUN_TAGS


@dg.asset_sensor(
    asset_key=dg.AssetKey("tracked_videos"),
    job=hourly_snapshot_job,
    name="new_videos_snapshot_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "When tracked_videos registers new videos, observe them into the current hour at once "
        "(only them: ceil(k/50) calls for k new videos; the hour's other observations are kept) "
        "so a new video's first hour is not lost waiting for the next scheduled tick."
    ),
)
def new_videos_snapshot_sensor(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, clock: ClockResource
):
    materialization = asset_event.asset_materialization
    registered = materialization.metadata.get("registered") if materialization else None
    if registered is None or not registered.value:
        return dg.SkipReason("tracked_videos registered no new videos")
    # the hour in progress on the snapshot asset's clock (the last partition: end_offset=1)
    partition_key = hourly_partitions.get_partition_key_for_timestamp(clock.now().timestamp())
    return dg.RunRequest(
        run_key=f"new-videos-{asset_event.run_id}",
        partition_key=partition_key,
        # the new videos only: the hour's channel statistics are the scheduled run's
        asset_selection=[dg.AssetKey("video_metric_snapshots"), dg.AssetKey("video_growth_hourly")],
        run_config=dg.RunConfig(
            ops={"video_metric_snapshots": {"config": {"new_videos_only": True}}}
        ),
        tags={"ytmetrics/trigger": "new_videos", **CURRENT_HOUR_RUN_TAGS},
    )
