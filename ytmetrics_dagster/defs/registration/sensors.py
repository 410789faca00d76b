"""Queued registrations become ``tracked_videos`` runs."""

import dagster as dg

from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.registration.jobs import tracked_videos_job, tracked_videos_run_config
from ytmetrics_dagster.defs.request_queue import queue_run_key
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse.videos import pending_summary


@dg.sensor(
    name="registration_requests_sensor",
    job=tracked_videos_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches tracked_videos when registration requests newer than the cursor are pending, "
        "and again if requests stay pending 15 minutes after their run was launched. The cursor "
        "holds the highest request id handed to a run and when; run_key makes a re-evaluated "
        "tick launch nothing twice."
    ),
)
@skips_while_warehouse_down
def registration_requests_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    pending, max_pending_id = pending_summary(warehouse.get_engine())
    if not pending or max_pending_id is None:
        return dg.SkipReason("no pending registration requests")
    run_key = queue_run_key(context, "registration-requests", max_pending_id, pending)
    if isinstance(run_key, dg.SkipReason):
        return run_key
    return dg.RunRequest(
        run_key=run_key,
        run_config=tracked_videos_run_config(refresh_active=False),
        tags={"ytmetrics/pending_requests": str(pending)},
    )
