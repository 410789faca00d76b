"""Queued registrations become ``tracked_videos`` runs."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.registration.jobs import tracked_videos_job, tracked_videos_run_config
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse.videos import pending_summary

# Pending requests that a launched run has not applied within this time (the run failed or was
# cancelled) are handed to a new run.
STALE_REQUESTS = timedelta(minutes=15)


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
    state = json.loads(context.cursor) if context.cursor else {"max_id": 0, "at": None}
    pending, max_pending_id = pending_summary(warehouse.get_engine())
    if not pending or max_pending_id is None:
        return dg.SkipReason("no pending registration requests")
    now = datetime.now(UTC)
    if max_pending_id > state["max_id"]:
        run_key = f"registration-requests-through-{max_pending_id}"
    elif state["at"] and now - datetime.fromisoformat(state["at"]) > STALE_REQUESTS:
        run_key = f"registration-requests-retry-{max_pending_id}-{int(now.timestamp()) // 900}"
    else:
        return dg.SkipReason(f"{pending} request(s) pending; a run was launched at {state['at']}")
    context.update_cursor(
        json.dumps({"max_id": max(max_pending_id, state["max_id"]), "at": now.isoformat()})
    )
    return dg.RunRequest(
        run_key=run_key,
        run_config=tracked_videos_run_config(refresh_active=False),
        tags={"ytmetrics/pending_requests": str(pending)},
    )
