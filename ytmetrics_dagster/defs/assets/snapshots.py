"""``video_metric_snapshots``: one observation of every active video per UTC hour."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.warehouse import snapshots as snapshot_store
from ytmetrics_dagster.warehouse import videos as video_store

# When the simulator replays a closed hour, it observes at this minute of the hour, the
# same minute the hourly schedule runs at by default.
SIMULATED_OBSERVATION_MINUTE = 5


def observation_time(
    window_start: datetime, window_end: datetime, now: datetime, simulated: bool
) -> datetime | None:
    """When to observe the hour [start, end): now if it is in progress; for a closed hour,
    a fixed minute inside it (simulator only); None when it cannot be observed."""
    if window_start <= now < window_end:
        return None  # observe the present
    if now < window_start:
        raise dg.Failure(f"hour {window_start.isoformat()} has not started yet; nothing to observe")
    if not simulated:
        raise dg.Failure(
            description=(
                f"cannot observe the closed hour {window_start:%Y-%m-%d %H:00} UTC: the YouTube Data "
                "API reports only current statistics, so past hours cannot be fetched later and "
                "are never fabricated. Materialize the current hour instead (backfills of past "
                "hours work only against the simulator)."
            )
        )
    return window_start + timedelta(minutes=SIMULATED_OBSERVATION_MINUTE)


@dg.asset(
    group_name="metrics",
    kinds={"postgres", "youtube"},
    partitions_def=hourly_partitions,
    deps=["tracked_videos"],
    pool="youtube_api",
    description=(
        "Hourly observations of views, likes and comments (table ytmetrics.metric_snapshots). "
        "A partition holds one observation of every active video taken during that UTC hour; "
        "re-running it replaces exactly that hour. Likes/comments are NULL when hidden/disabled."
    ),
)
def video_metric_snapshots(
    context: dg.AssetExecutionContext, youtube: YouTubeResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    window = context.partition_time_window
    as_of = observation_time(window.start, window.end, datetime.now(UTC), youtube.simulated)
    engine = warehouse.get_engine()
    video_ids = video_store.active_video_ids(engine, published_before=as_of or datetime.now(UTC))

    observations, missing, api_calls = [], [], 0
    source = "simulator" if youtube.simulated else "youtube"
    fetch_started = datetime.now(UTC)
    if video_ids:
        with youtube.get_client() as client:
            result = client.video_statistics(video_ids, as_of=as_of)
        observations, missing, api_calls, source = (
            result.items,
            result.missing,
            result.api_calls,
            result.source,
        )
    fetched = datetime.now(UTC)
    observed_at = as_of or fetched

    rows = snapshot_store.replace_snapshot_partition(
        engine,
        window.start,
        observations,
        observed_at=observed_at,
        source=source,
        run_id=context.run.run_id,
    )
    written = datetime.now(UTC)
    if missing:
        context.log.warning(
            "%d videos missing from YouTube's answer: %s", len(missing), ", ".join(missing[:20])
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "videos_requested": len(video_ids),
            "videos_missing": len(missing),
            "missing_ids": ", ".join(missing[:50]),
            "api_calls": api_calls,
            "quota_units": api_calls,
            "total_views": sum(o.view_count for o in observations),
            "source": source,
            "observed_at": observed_at.isoformat(),
            "fetch_seconds": round((fetched - fetch_started).total_seconds(), 3),
            "write_seconds": round((written - fetched).total_seconds(), 3),
        }
    )
