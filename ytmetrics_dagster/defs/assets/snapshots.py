"""``video_metric_snapshots``: one observation of every active video per UTC hour."""

import os
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.cadence import DEFAULT_CADENCE_SPEC, parse_cadence
from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.quota_metadata import quota_metadata
from ytmetrics_dagster.defs.resources import (
    WarehouseResource,
    YouTubeResource,
    youtube_retry_policy,
)
from ytmetrics_dagster.defs.schemas import METRIC_SNAPSHOTS, column_schema
from ytmetrics_dagster.warehouse import snapshots as snapshot_store
from ytmetrics_dagster.warehouse import videos as video_store
from ytmetrics_dagster.warehouse.quality import snapshot_window_problems
from ytmetrics_dagster.warehouse.quota import check_budget, units_for_ids
from ytmetrics_dagster.youtube.client import BATCH_STATS_BUCKET

# When the simulator replays a closed hour, it observes at this minute of the hour, the
# same minute the hourly schedule runs at by default.
SIMULATED_OBSERVATION_MINUTE = 5
# YouTube corrects counts downward now and then (spam views removed); beyond this it is news.
VIEWS_DECREASE_TOLERANCE = 0.001

SNAPSHOT_CHECKS = [
    dg.AssetCheckSpec(
        "counts_non_negative",
        asset="video_metric_snapshots",
        blocking=True,
        description="No negative view, like or comment count in the hours written.",
    ),
    dg.AssetCheckSpec(
        "one_row_per_video_hour",
        asset="video_metric_snapshots",
        blocking=True,
        description="No duplicate (video, hour) in the hours written.",
    ),
    dg.AssetCheckSpec(
        "views_not_decreasing",
        asset="video_metric_snapshots",
        description="Views fell by more than 0.1 % since the previous observation (warning only: "
        "YouTube does correct counts downward).",
    ),
]


class SnapshotConfig(dg.Config):
    cadence: str = Field(
        default_factory=lambda: os.environ.get("YTMETRICS_CADENCE", DEFAULT_CADENCE_SPEC),
        description="Age tiers 'max_age:interval', youngest first, e.g. '7d:1h,30d:6h,*:24h': "
        "hourly for a week after publishing, then every 6 h, then daily.",
    )
    daily_hour_utc: int = Field(
        default_factory=lambda: int(os.environ.get("YTMETRICS_DAILY_HOUR_UTC", "12")),
        description="UTC hour at which videos on a daily (or N-hourly) interval are observed.",
    )
    unavailable_after_misses: int = Field(
        default=3,
        ge=1,
        description="Consecutive hours a video may be missing from YouTube's answer before it "
        "becomes unavailable (and stops costing quota until the daily re-check finds it).",
    )


def observation_time(
    window_start: datetime, window_end: datetime, now: datetime, simulated: bool
) -> datetime | None:
    """When to observe the hour [start, end): None (= now) if it is in progress; for a
    closed hour, a fixed minute inside it, which only the simulator can answer."""
    if window_start <= now < window_end:
        return None
    if now < window_start:
        raise dg.Failure(
            f"hour {window_start:%Y-%m-%d %H:00} UTC has not started; nothing to observe",
            allow_retries=False,
        )
    if not simulated:
        raise dg.Failure(
            description=(
                f"cannot observe the closed hour {window_start:%Y-%m-%d %H:00} UTC: the YouTube "
                "Data API reports only current statistics, so past hours cannot be fetched later "
                "and are never fabricated. Materialize the current hour instead (backfills of "
                "past hours work only against the simulator)."
            ),
            allow_retries=False,
        )
    return window_start + timedelta(minutes=SIMULATED_OBSERVATION_MINUTE)


@dg.asset(
    metadata=column_schema(METRIC_SNAPSHOTS, "metric_snapshots"),
    group_name="metrics",
    kinds={"postgres", "youtube"},
    partitions_def=hourly_partitions,
    deps=["tracked_videos"],
    pool="youtube_api",
    retry_policy=youtube_retry_policy,
    check_specs=SNAPSHOT_CHECKS,
    # A backfill is one run that observes its hours in order, each hour its own transaction;
    # it holds one youtube_api pool slot throughout instead of queueing hundreds of runs.
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "Hourly observations of views, likes and comments (table ytmetrics.metric_snapshots). "
        "A partition holds one observation of every active video taken during that UTC hour; "
        "re-running it replaces exactly that hour. Likes/comments are NULL when hidden/disabled. "
        "With the real API only the hour in progress can be observed."
    ),
)
def video_metric_snapshots(
    context: dg.AssetExecutionContext,
    config: SnapshotConfig,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    now = datetime.now(UTC)
    try:
        cadence = parse_cadence(config.cadence, config.daily_hour_utc)
    except ValueError as err:
        raise dg.Failure(f"invalid snapshot config: {err}", allow_retries=False) from None
    windows = [hourly_partitions.time_window_for_partition_key(k) for k in context.partition_keys]
    # Decide every hour before the first API call: a refused hour spends no quota.
    times = [(w.start, observation_time(w.start, w.end, now, youtube.simulated)) for w in windows]
    engine = warehouse.get_engine()

    def due(hour: datetime, as_of: datetime | None) -> list[str]:
        return video_store.due_video_ids(
            engine, hour, as_of or now, cadence.tiers_json(), cadence.anchor_hour
        )

    # Who is due depends on the observations before each hour, so in a multi-hour backfill
    # it is decided hour by hour; the budget check uses the due lists as they stand now, an
    # upper bound (a video observed in an earlier hour of the run can only drop out).
    plan = [(hour, as_of, due(hour, as_of)) for hour, as_of in times]

    totals = {"rows": 0, "missing": 0, "api_calls": 0, "views": 0, "requested": 0}
    missing_ids: list[str] = []
    newly_unavailable: list[str] = []
    source = "simulator" if youtube.simulated else "youtube"
    fetch_seconds = write_seconds = 0.0
    observed_at = now
    with youtube.session(engine, context.run.run_id) as client:
        calls = [units_for_ids(len(ids)) for _, _, ids in plan]
        purpose = f"{len(plan)} snapshot hour(s)"
        if youtube.use_batch_get_stats:
            # batches alternate: videos.list takes the even ones, batchGetStats the odd ones
            check_budget(
                engine, youtube.budget, sum((c + 1) // 2 for c in calls), now, purpose=purpose
            )
            check_budget(
                engine,
                youtube.budget,
                sum(c // 2 for c in calls),
                now,
                purpose=purpose,
                bucket=BATCH_STATS_BUCKET,
            )
        else:
            check_budget(engine, youtube.budget, sum(calls), now, purpose=purpose)
        for i, (hour, as_of, planned_ids) in enumerate(plan):
            video_ids = planned_ids if i == 0 else due(hour, as_of)
            started = datetime.now(UTC)
            observations, missing = [], []
            if video_ids:
                result = client.video_statistics(
                    video_ids, as_of=as_of, use_batch_get_stats=youtube.use_batch_get_stats
                )
                observations, missing, source = result.items, result.missing, result.source
                totals["api_calls"] += result.api_calls
            fetched = datetime.now(UTC)
            observed_at = as_of or fetched
            written = snapshot_store.replace_snapshot_partition(
                engine,
                hour,
                observations,
                observed_at=observed_at,
                source=source,
                run_id=context.run.run_id,
                missing_ids=missing,
                unavailable_after_misses=config.unavailable_after_misses,
            )
            totals["rows"] += written.rows
            newly_unavailable.extend(written.newly_unavailable)
            fetch_seconds += (fetched - started).total_seconds()
            write_seconds += (datetime.now(UTC) - fetched).total_seconds()
            totals["requested"] += len(video_ids)
            totals["missing"] += len(missing)
            totals["views"] = sum(o.view_count for o in observations)  # the latest hour's
            missing_ids.extend(m for m in missing if m not in missing_ids)
    if missing_ids:
        context.log.warning(
            "%d videos missing from YouTube's answer (private, deleted or not yet public): %s",
            len(missing_ids),
            ", ".join(missing_ids[:20]),
        )
    if newly_unavailable:
        context.log.warning(
            "now unavailable after %d missed hours: %s",
            config.unavailable_after_misses,
            ", ".join(newly_unavailable[:20]),
        )
    problems = snapshot_window_problems(
        engine, windows[0].start, windows[-1].end, VIEWS_DECREASE_TOLERANCE
    )
    checks = [
        dg.AssetCheckResult(
            check_name="counts_non_negative",
            passed=problems["negative"] == 0,
            metadata={"negative_rows": problems["negative"]},
        ),
        dg.AssetCheckResult(
            check_name="one_row_per_video_hour",
            passed=problems["duplicates"] == 0,
            metadata={"duplicates": problems["duplicates"]},
        ),
        dg.AssetCheckResult(
            check_name="views_not_decreasing",
            passed=problems["decreasing"] == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"decreasing": problems["decreasing"], "worst_ratio": problems["worst_ratio"]},
        ),
    ]
    return dg.MaterializeResult(
        check_results=checks,
        metadata={
            "dagster/row_count": totals["rows"],
            "newly_unavailable": len(newly_unavailable),
            "hours": len(plan),
            "videos_due": totals["requested"],
            "cadence": config.cadence,
            "videos_missing": totals["missing"],
            "missing_ids": ", ".join(missing_ids[:50]),
            "api_calls": totals["api_calls"],
            "quota_units": totals["api_calls"],
            "total_views": totals["views"],
            "source": source,
            "observed_at": observed_at.isoformat(),
            "fetch_seconds": round(fetch_seconds, 3),
            "write_seconds": round(write_seconds, 3),
            **quota_metadata(
                engine, youtube.budget, cadence, use_batch_get_stats=youtube.use_batch_get_stats
            ),
        },
    )
