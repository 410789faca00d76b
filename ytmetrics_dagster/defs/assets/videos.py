"""``tracked_videos``: the set of videos we observe, fed by the registration queue."""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.warehouse import videos as video_store


class TrackedVideosConfig(dg.Config):
    refresh_active: bool = Field(
        default=True,
        description="Also re-fetch the details of every active video (1 quota unit per 50).",
    )
    max_requests: int = Field(default=5000, description="Pending requests applied per run.")


@dg.asset(
    group_name="videos",
    kinds={"postgres", "youtube"},
    pool="youtube_api",
    description=(
        "Videos tracked for hourly statistics (table ytmetrics.videos). Applies pending "
        "registration requests (ids YouTube does not return are rejected with a reason) and "
        "refreshes the details of active videos."
    ),
)
def tracked_videos(
    context: dg.AssetExecutionContext,
    config: TrackedVideosConfig,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    engine = warehouse.get_engine()
    pending = video_store.pending_registrations(engine, limit=config.max_requests)
    refresh_ids = video_store.active_video_ids(engine) if config.refresh_active else []
    wanted = list(dict.fromkeys([r.video_id for r in pending] + refresh_ids))

    api_calls, source = 0, "simulator" if youtube.simulated else "youtube"
    found = []
    if wanted:
        with youtube.get_client() as client:
            result = client.video_details(wanted)
        api_calls, source, found = result.api_calls, result.source, result.items

    now = datetime.now(UTC)
    pending_ids = {r.video_id for r in pending}
    outcome = video_store.apply_registrations(
        engine,
        pending,
        [d for d in found if d.video_id in pending_ids],
        source=source,
        now=now,
        run_id=context.run.run_id,
    )
    refreshed = video_store.refresh_details(
        engine, [d for d in found if d.video_id not in pending_ids], source=source, now=now
    )
    counts = video_store.status_counts(engine)
    context.log.info(
        "registered %d, rejected %d, refreshed %d (%d API calls, source=%s)",
        outcome["registered"],
        outcome["rejected"],
        refreshed,
        api_calls,
        source,
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "active": counts["active"],
            "unavailable": counts["unavailable"],
            "removed": counts["removed"],
            "registered": outcome["registered"],
            "rejected": outcome["rejected"],
            "refreshed": refreshed,
            "api_calls": api_calls,
            "source": source,
        }
    )
