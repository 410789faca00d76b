"""Every table of the warehouse is in the catalog, or is named here as bookkeeping with the
reason it has no asset of its own.

- Tables a step materializes are assets (the ``assets.py`` of each concept under ``defs/``); a step that writes two tables is a
  multi-asset (``video_launch_curves`` + ``channel_launch_curves``).
- Tables written outside runs (by the CLI, the MCP server, sensors and every API call) are
  external assets, observed by ``warehouse_tables_sensor``: each observation carries the row
  count and the column schema as the database has it.
- The rest is bookkeeping of other tables (below); the test suite fails when a table is in none
  of these three places.
"""

import dagster as dg

from ytmetrics_dagster.defs.operations.schemas import table_metadata, table_name
from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse.introspection import row_count

EXTERNAL_TABLES = {
    "registration_requests": (
        "videos",
        "Requests to track a video (table ytmetrics.registration_requests), queued by the CLI, "
        "the MCP server, the register_videos job and channel_uploads_sensor; "
        "registration_requests_sensor hands pending ones to tracked_videos, which records "
        "whether each was registered or rejected, and why (or failed, with the cause, when "
        "YouTube could not be asked).",
    ),
    "channels": (
        "videos",
        "Channels whose new uploads are tracked (table ytmetrics.channels): added and removed "
        "by `ytmetrics track-channel` / `untrack-channel`; channel_uploads_sensor polls their "
        "uploads playlists and queues new uploads as registration requests.",
    ),
    "api_calls": (
        "operations",
        "The quota ledger (table ytmetrics.api_calls): every YouTube API attempt, retries "
        "included, written before it is sent and settled with the answer, by every API-bound "
        "step and sensor (tracked_videos, video_metric_snapshots, channel_uploads_sensor) and "
        "the CLI. Units are counted per quota day (Pacific time) and bucket.",
    ),
    "alerts": (
        "operations",
        "Alerts (table ytmetrics.alerts), one per key: failed runs, quota use, viral videos, "
        "missed hours, stale assets (freshness); raised by the alert sensors and the snapshot "
        "step, with the outcome of their webhook delivery.",
    ),
}

# Tables with no asset of their own, and why.
BOOKKEEPING_TABLES = {
    "api_tokens": "the HTTP API's tokens (only hashes of their secrets), made and revoked by "
    "`ytmetrics tokens`: secrets, not data, so no asset carries their rows",
    "collection_requests": "the collect-now queue of the HTTP API: collection_requests_sensor "
    "hands pending requests to video_metric_snapshots, which records the verdict on each",
    "snapshot_batches": "part of video_metric_snapshots: the per-hour facts of its partitions "
    "(run, source, observation time, videos due/written/missing, API calls), written in the same "
    "transaction as the hour's rows; read by the due_videos_observed check and the snapshots view",
    "video_observation_state": "a cache of metric_snapshots (each video's two newest "
    "observations), kept by every snapshot write and rebuildable from the history",
    "missed_hours": "written when video_metric_snapshots fails to observe an hour, so no "
    "materialization can carry it; every row also raises a missed_hour alert, and the "
    "no_missing_hours_24h check reports the reasons",
    "quota_reservations": "part of the quota ledger (api_calls): units held by API sessions in "
    "progress, released when they end or expire",
    "day_partitions": "storage bookkeeping of the day partitions of metric_snapshots and "
    "video_growth_hourly (created, last written, compacted)",
    "deployment": "deployment settings written by the migrations (partitions_start)",
    "alembic_version": "Alembic's record of the schema revision",
    "deferred_observations": "part of video_metric_snapshots: the due videos a paced hourly run "
    "left unobserved for lack of quota, per video and hour, written by the same run (quota "
    "pacing, docs/quota-pacing.md)",
    "video_priorities": "operators' pins (ytmetrics pin/unpin): read by the paced hourly run to "
    "observe pinned videos first",
}

external_tables = [
    dg.AssetSpec(
        table,
        description=description,
        group_name=group,
        kinds={"postgres"},
        metadata=table_name(table),
    )
    for table, (group, description) in EXTERNAL_TABLES.items()
]


@dg.sensor(
    name="warehouse_tables_sensor",
    minimum_interval_seconds=1800,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 30 minutes, records an observation of each table written outside runs "
        "(registration_requests, channels, api_calls, alerts): its row count and its column "
        "schema as the database has it."
    ),
)
@skips_while_warehouse_down
def warehouse_tables_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    engine = warehouse.get_engine()
    return dg.SensorResult(
        asset_events=[
            dg.AssetObservation(
                asset_key=table,
                metadata={
                    **table_metadata(engine, table),
                    "dagster/row_count": row_count(engine, table),
                },
            )
            for table in EXTERNAL_TABLES
        ]
    )
