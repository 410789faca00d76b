"""Channel discovery: each tracked channel's uploads playlist is polled for new uploads."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.services.discovery import poll_channels
from ytmetrics_dagster.settings import channel_poll_seconds

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
