"""Analysis assets over the growth tables: channel daily growth, launch curves, milestones."""

from datetime import UTC, datetime

import dagster as dg

from ytmetrics_dagster.defs.operations.freshness import DAILY_FRESHNESS, HOURLY_FRESHNESS
from ytmetrics_dagster.defs.operations.schemas import table_metadata, table_name
from ytmetrics_dagster.defs.partitions import daily_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse import analysis, figures
from ytmetrics_dagster.warehouse.growth import utc_date
from ytmetrics_dagster.warehouse.quality import sources_between


@dg.asset(
    metadata=table_name("channel_growth_daily"),
    group_name="analysis",
    kinds={"postgres"},
    partitions_def=daily_partitions,
    deps=["video_growth_daily", "tracked_videos"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    freshness_policy=DAILY_FRESHNESS,
    description=(
        "Per channel per UTC day (table ytmetrics.channel_growth_daily): views, likes and "
        "comments gained by its tracked videos, videos published that day, and the day's top "
        "video. Each partition's metadata: its channels, views gained, videos published and "
        "the channel that gained the most."
    ),
)
def channel_growth_daily(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    window = context.partition_time_window
    engine = warehouse.get_engine()
    analysis.rebuild_channel_growth_daily(engine, window.start, window.end)
    per_day = figures.channel_daily_figures(engine, utc_date(window.start), utc_date(window.end))
    keys = context.partition_keys
    # Each partition shows its own figures, never the run's.
    for key in keys:
        day = daily_partitions.time_window_for_partition_key(key)
        f = per_day.get(day.start.date()) or {
            "rows": 0,
            "views_gained": 0,
            "videos_published": 0,
            "top_channel": "none",
            "top_channel_views_gained": 0,
        }
        context.add_asset_metadata(
            {
                "dagster/row_count": f["rows"],
                "views_gained": f["views_gained"],
                "videos_published": f["videos_published"],
                "top_channel": f["top_channel"],
                "top_channel_views_gained": f["top_channel_views_gained"],
                "source": sources_between(engine, day.start, day.end),
            },
            partition_key=key,
        )
    return dg.MaterializeResult(
        metadata={**table_metadata(engine, "channel_growth_daily"), "days_in_run": len(keys)}
    )


# One step writes both tables in one transaction: one multi-asset, two declared outputs.
@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "video_launch_curves",
            group_name="analysis",
            kinds={"postgres"},
            deps=["video_metric_snapshots", "tracked_videos"],
            metadata=table_name("video_launch_curves"),
            freshness_policy=HOURLY_FRESHNESS,
            description=(
                "Views/likes/comments of every video at 1 h, 6 h, 24 h, 48 h, 7 d and 30 d after "
                "published_at (table ytmetrics.video_launch_curves). Values are linearly "
                "interpolated between the two observations around each age and flagged as such; "
                "NULL where no observations lie within max(2 h, half the age) around it."
            ),
        ),
        dg.AssetSpec(
            "channel_launch_curves",
            group_name="analysis",
            kinds={"postgres"},
            deps=["video_launch_curves"],
            metadata=table_name("channel_launch_curves"),
            freshness_policy=HOURLY_FRESHNESS,
            description=(
                "The median launch curve of each channel's tracked videos (table "
                "ytmetrics.channel_launch_curves), so a new video can be compared with its siblings "
                "at the same age. Written by the same step as video_launch_curves, in the same "
                "transaction."
            ),
        ),
    ]
)
def video_launch_curves(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    engine = warehouse.get_engine()
    counts = analysis.rebuild_launch_curves(engine, datetime.now(UTC))
    source = sources_between(engine)
    yield dg.MaterializeResult(
        asset_key="video_launch_curves",
        metadata={
            **table_metadata(engine, "video_launch_curves"),
            "dagster/row_count": counts["video_rows"],
            "source": source,
        },
    )
    yield dg.MaterializeResult(
        asset_key="channel_launch_curves",
        metadata={
            **table_metadata(engine, "channel_launch_curves"),
            "dagster/row_count": counts["channel_rows"],
            "source": source,
        },
    )


@dg.asset(
    metadata=table_name("video_milestones"),
    group_name="analysis",
    kinds={"postgres"},
    deps=["video_metric_snapshots"],
    freshness_policy=HOURLY_FRESHNESS,
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
            **table_metadata(engine, "video_milestones"),
            "dagster/row_count": rows,
            "method": analysis.MILESTONE_METHOD,
            "source": sources_between(engine),
        }
    )
