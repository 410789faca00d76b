"""Collect now: pending ``collection_requests`` (the HTTP API's POST /videos/{video}/collect)
become a run of the hourly job for the hour in progress that observes only those videos, through
the same pool, quota ledger and snapshot write as every scheduled hour."""

import dagster as dg

from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.request_queue import queue_run_key
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.defs.snapshots.jobs import hourly_snapshot_job
from ytmetrics_dagster.defs.tags import CURRENT_HOUR_RUN_TAGS
from ytmetrics_dagster.warehouse import collections


def collection_run_config(request_ids: list[int]) -> dg.RunConfig:
    return dg.RunConfig(
        ops={
            "video_metric_snapshots": {
                "config": {"new_videos_only": True, "collection_request_ids": request_ids}
            }
        }
    )


@dg.sensor(
    name="collection_requests_sensor",
    job=hourly_snapshot_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Collect now: launches hourly_snapshot_job for the hour in progress when collection "
        "requests newer than the cursor are pending; the run observes only their videos "
        "(ceil(k/50) calls for k videos, none for a video the hour holds already) and records "
        "the verdict on each request. Requests still pending 15 minutes after their run was "
        "launched go to a new run."
    ),
)
@skips_while_warehouse_down
def collection_requests_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    ids, max_id = collections.pending_summary(warehouse.get_engine())
    if not ids or max_id is None:
        return dg.SkipReason("no pending collection requests")
    run_key = queue_run_key(context, "collect", max_id, len(ids))
    if isinstance(run_key, dg.SkipReason):
        return run_key
    return dg.RunRequest(
        run_key=run_key,
        partition_key=hourly_partitions.get_last_partition_key(),
        run_config=collection_run_config(ids),
        tags={"ytmetrics/trigger": "collect_now", **CURRENT_HOUR_RUN_TAGS},
    )
