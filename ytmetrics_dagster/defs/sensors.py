"""Sensors: queued registrations become ``tracked_videos`` runs; new videos get observed now."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from ytmetrics_dagster.defs.jobs import (
    CURRENT_HOUR_RUN_TAGS,
    hourly_snapshot_job,
    tracked_videos_job,
    tracked_videos_run_config,
)
from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.discovery import poll_channels
from ytmetrics_dagster.settings import channel_poll_seconds
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
def new_videos_snapshot_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    materialization = asset_event.asset_materialization
    registered = materialization.metadata.get("registered") if materialization else None
    if registered is None or not registered.value:
        return dg.SkipReason("tracked_videos registered no new videos")
    partition_key = hourly_partitions.get_last_partition_key()
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


growth_automation_sensor = dg.AutomationConditionSensorDefinition(
    "growth_automation_sensor",
    target=dg.AssetSelection.assets("video_growth_hourly"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Recomputes hourly growth of every snapshot hour (re)written outside the hourly "
    "job (re-runs, backfills, new videos), so growth always follows the snapshots.",
)


# The sensor looks every minute for channels whose own poll interval has passed, so polls of
# many channels spread over the interval instead of bunching on one tick.
CHANNEL_SENSOR_INTERVAL_SECONDS = 60


@dg.sensor(
    name="channel_uploads_sensor",
    minimum_interval_seconds=CHANNEL_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Polls each tracked channel's uploads playlist (playlistItems.list, 1 quota unit a page, "
        "newest first; pages on only until a known video) and queues new uploads through the "
        "registration path, so a new video's first hours are observed. Caps channels and time "
        "per tick; registration_requests_sensor launches the run."
    ),
)
@skips_while_warehouse_down
def channel_uploads_sensor(
    context: dg.SensorEvaluationContext, youtube: YouTubeResource, warehouse: WarehouseResource
):
    problem = youtube.configuration_problem()
    if problem:
        return dg.SkipReason(problem)
    engine = warehouse.get_engine()
    with youtube.session(
        engine,
        "sensor:channel_uploads_sensor",
        purpose="channel discovery",
        discovery=True,
        deadline=datetime.now(UTC) + timedelta(seconds=40),
    ) as client:
        result = poll_channels(
            engine,
            client,
            budget=youtube.budget,
            min_interval_seconds=channel_poll_seconds(),
            max_channels=25,
            max_pages_per_channel=4,
            time_budget_seconds=30,
        )
    previous = json.loads(context.cursor) if context.cursor else {}
    context.update_cursor(
        json.dumps(
            {
                "last_tick": datetime.now(UTC).isoformat(),
                "queued_total": previous.get("queued_total", 0) + result.queued,
            }
        )
    )
    summary = (
        f"polled {result.channels_polled} channel(s) with {result.pages} page(s), "
        f"queued {result.queued} new upload(s)"
    )
    if result.stopped_early:
        summary += f"; stopped early: {result.stopped_early}"
    return dg.SkipReason(summary)
