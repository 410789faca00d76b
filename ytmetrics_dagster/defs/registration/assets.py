"""``tracked_videos``: the set of videos we observe, fed by the registration queue."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.defs.links import home_url
from ytmetrics_dagster.defs.operations.freshness import DAILY_FRESHNESS
from ytmetrics_dagster.defs.operations.schemas import table_metadata, table_name
from ytmetrics_dagster.defs.resources import (
    WarehouseResource,
    YouTubeResource,
    refused_writes_fail_at_once,
    youtube_retry_policy,
)
from ytmetrics_dagster.defs.snapshots.quota_metadata import quota_metadata
from ytmetrics_dagster.warehouse import videos as video_store
from ytmetrics_dagster.warehouse.quota import units_for_ids
from ytmetrics_dagster.warehouse.read_limits import markdown
from ytmetrics_dagster.warehouse.registrations import fail_registrations
from ytmetrics_dagster.warehouse.video_listing import recently_added
from ytmetrics_dagster.youtube.errors import YouTubeError

# Registrations and the daily refresh give up after this long, so the youtube_api pool is
# never held for long by anything but the hourly snapshots.
DETAILS_DEADLINE = timedelta(minutes=10)


class TrackedVideosConfig(dg.Config):
    refresh_active: bool = Field(
        default=True,
        description=(
            "Also re-fetch the details of every active video and re-check unavailable ones, "
            "which return to active if YouTube shows them again (1 quota unit per 50 ids)."
        ),
    )
    max_requests: int = Field(default=5000, description="Pending requests applied per run.")


@dg.asset(
    metadata=table_name("videos"),
    group_name="videos",
    deps=["registration_requests"],
    freshness_policy=DAILY_FRESHNESS,
    kinds={"postgres", "youtube"},
    pool="youtube_api",
    retry_policy=youtube_retry_policy,
    description=(
        "Videos tracked for hourly statistics (table ytmetrics.videos). Applies pending "
        "registration requests (ids YouTube does not return are rejected with a reason), "
        "refreshes details of active videos and re-checks unavailable ones. Writes the outcome "
        "of each request back to ytmetrics.registration_requests. The snapshot step also "
        "writes this table: the miss columns, and the status of videos YouTube stopped "
        "returning."
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
    unavailable = video_store.video_ids_with_status(engine, "unavailable")
    refresh_ids = (
        video_store.active_video_ids(engine) + unavailable if config.refresh_active else []
    )
    wanted = list(dict.fromkeys([r.video_id for r in pending] + refresh_ids))

    source = youtube.source
    found, api_calls = [], 0
    try:
        with youtube.session(
            engine,
            context.run.run_id,
            purpose="tracked_videos",
            units={"default": units_for_ids(len(wanted))},
            deadline=datetime.now(UTC) + DETAILS_DEADLINE,
        ) as client:
            if wanted:
                result = client.video_details(wanted)
                found, api_calls, source = result.items, result.api_calls, result.source
    except (dg.Failure, YouTubeError) as err:
        # YouTube could not be asked: whoever waits on these requests gets the cause now, not
        # a timeout (a step retry then finds them resolved; register again to retry)
        cause = (err.description if isinstance(err, dg.Failure) else str(err)) or repr(err)
        failed = fail_registrations(
            engine, [r.request_id for r in pending], cause, datetime.now(UTC), context.run.run_id
        )
        if failed and not config.refresh_active:
            # a registration run has nothing left to do: fail now (the run failure alert
            # carries the cause too) instead of retrying a step that would find no request
            raise dg.Failure(
                description=f"{failed} registration request(s) failed: {cause}",
                allow_retries=False,
            ) from None
        raise

    now = datetime.now(UTC)
    pending_ids = {r.video_id for r in pending}
    unavailable_before = set(unavailable)
    refreshed = [d for d in found if d.video_id not in pending_ids]
    with refused_writes_fail_at_once():
        outcome = video_store.apply_registrations(
            engine,
            pending,
            [d for d in found if d.video_id in pending_ids],
            source=source,
            now=now,
            run_id=context.run.run_id,
        )
        video_store.refresh_details(engine, refreshed, source=source, now=now)
    returned = sorted(d.video_id for d in refreshed if d.video_id in unavailable_before)
    counts = video_store.status_counts(engine)
    recent, added_24h = recently_added(engine, limit=10)
    context.log.info(
        "registered %d, rejected %d, refreshed %d, returned from unavailable %d (%d API calls, source=%s)",
        outcome["registered"],
        outcome["rejected"],
        len(refreshed),
        len(returned),
        api_calls,
        source,
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "active": counts["active"],
            "unavailable": counts["unavailable"],
            "removed": counts["removed"],
            "added_last_24h": added_24h,
            "recently_added": dg.MetadataValue.md(markdown(recent)),
            "registered": outcome["registered"],
            "rejected": outcome["rejected"],
            "refreshed": len(refreshed),
            "returned_from_unavailable": len(returned),
            "api_calls": api_calls,
            "source": source,
            **quota_metadata(
                engine, youtube.budget, use_batch_get_stats=youtube.use_batch_get_stats
            ),
            **({"dashboard": dg.MetadataValue.url(url)} if (url := home_url()) else {}),
            **table_metadata(engine, "videos"),
        }
    )
