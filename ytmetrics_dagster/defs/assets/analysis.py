"""Analysis assets over the growth tables: channel daily growth, launch curves, milestones."""

from datetime import UTC, datetime

import dagster as dg

from ytmetrics_dagster.defs.partitions import daily_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.defs.schemas import (
    CHANNEL_GROWTH_DAILY,
    LAUNCH_CURVES,
    MILESTONES,
    column_schema,
)
from ytmetrics_dagster.warehouse import analysis
from ytmetrics_dagster.warehouse.quality import sources_between


@dg.asset(
    metadata=column_schema(CHANNEL_GROWTH_DAILY, "channel_growth_daily"),
    group_name="analysis",
    kinds={"postgres"},
    partitions_def=daily_partitions,
    deps=["video_growth_daily", "tracked_videos"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "Per channel per UTC day (table ytmetrics.channel_growth_daily): views, likes and "
        "comments gained by its tracked videos, videos published that day, and the day's top video."
    ),
)
def channel_growth_daily(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    window = context.partition_time_window
    engine = warehouse.get_engine()
    rows = analysis.rebuild_channel_growth_daily(engine, window.start, window.end)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "source": sources_between(engine, window.start, window.end),
        }
    )


@dg.asset(
    metadata=column_schema(LAUNCH_CURVES, "video_launch_curves"),
    group_name="analysis",
    kinds={"postgres"},
    deps=["video_metric_snapshots", "tracked_videos"],
    description=(
        "Views/likes/comments of every video at 1 h, 6 h, 24 h, 48 h, 7 d and 30 d after "
        "published_at (tables ytmetrics.video_launch_curves and channel_launch_curves). Values "
        "are linearly interpolated between the two observations around each age and flagged as "
        "such; NULL where no observations lie within max(2 h, half the age) around it. The "
        "channel median curve lets a new video be compared with its siblings at the same age."
    ),
)
def video_launch_curves(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    engine = warehouse.get_engine()
    counts = analysis.rebuild_launch_curves(engine, datetime.now(UTC))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": counts["video_rows"],
            "channel_curve_rows": counts["channel_rows"],
            "source": sources_between(engine),
        }
    )


@dg.asset(
    metadata=column_schema(MILESTONES, "video_milestones"),
    group_name="analysis",
    kinds={"postgres"},
    deps=["video_metric_snapshots"],
    description=(
        "Per active video (table ytmetrics.video_milestones): the next views milestone (1k, 10k, "
        "100k, 1M, ...) and its ETA, by " + analysis.MILESTONE_METHOD + "."
    ),
)
def video_milestone_projections(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    engine = warehouse.get_engine()
    rows = analysis.rebuild_milestones(engine, datetime.now(UTC))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "method": analysis.MILESTONE_METHOD,
            "source": sources_between(engine),
        }
    )
