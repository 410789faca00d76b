"""Derived growth tables, computed set-based in Postgres from the snapshots."""

from datetime import datetime, timedelta

import dagster as dg

from ytmetrics_dagster.defs.operations.freshness import DAILY_FRESHNESS, HOURLY_FRESHNESS
from ytmetrics_dagster.defs.operations.schemas import table_metadata, table_name
from ytmetrics_dagster.defs.partitions import daily_partitions, hourly_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse import figures
from ytmetrics_dagster.warehouse import growth as growth_store
from ytmetrics_dagster.warehouse.read_limits import markdown
from ytmetrics_dagster.warehouse.top_growers import top_growers_between

# Growth follows snapshots: whenever a snapshot hour is (re)written outside the hourly job (a
# re-run, a backfill, new videos added mid-hour), that hour's growth is recomputed; the
# rebuild also refreshes each video's next observation after it. Bounded to the last week of
# partitions so an old backfill does not fan out across history.
GROWTH_FOLLOWS_SNAPSHOTS = (
    dg.AutomationCondition.in_latest_time_window(timedelta(days=7))
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
    # a snapshot hour whose blocking checks failed (too few due videos observed, mixed
    # sources) is not turned into growth behind the checks' back
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("growth follows snapshots")

# A single-run backfill shows the top growers of each partition only up to this many
# partitions (one query each); beyond, partitions carry their counts only.
TOP_GROWERS_MAX_HOURS = 48
TOP_GROWERS_MAX_DAYS = 31
TOP_GROWERS_SHOWN = 10


def top_growers_md(engine, start: datetime, end: datetime) -> dg.MetadataValue:
    """Top growers of [start, end), ranked by views gained within the window."""
    frame = top_growers_between(engine, start, end, limit=TOP_GROWERS_SHOWN)
    shown = frame[
        ["video_id", "title", "views_gained", "views_per_hour", "covered_hours", "prorated"]
    ]
    method = frame.attrs["method"]
    return dg.MetadataValue.md(
        f"Window {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC. "
        f"{method[0].upper()}{method[1:]}.\n\n{markdown(shown)}"
    )


@dg.asset(
    metadata=table_name("video_growth_hourly"),
    group_name="metrics",
    kinds={"postgres"},
    partitions_def=hourly_partitions,
    deps=["video_metric_snapshots"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    automation_condition=GROWTH_FOLLOWS_SNAPSHOTS,
    freshness_policy=HOURLY_FRESHNESS,
    description=(
        "Per video per observed hour (table ytmetrics.video_growth_hourly, readable as the view "
        "ytmetrics.growth_hourly): counters, gains since the previous real observation "
        "(however long ago: an hour for an hourly video, a day for a daily one), hours elapsed "
        "and views/hour over that real elapsed time. First observations have NULL gains. Each "
        "partition's metadata: its rows, views gained by its observations (each since that "
        "video's previous one) and the top growers of the hour up to its newest observation, "
        "ranked by views gained within that hour (gains pro-rated by the overlap of their "
        "interval with it). The check growth_matches_snapshots compares the stored rows with "
        "the snapshots as committed."
    ),
)
def video_growth_hourly(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    window = context.partition_time_window  # a whole range in a single-run backfill
    engine = warehouse.get_engine()
    growth_store.rebuild_hourly_growth(engine, window.start, window.end)
    per_hour = figures.hourly_growth_figures(engine, window.start, window.end)
    keys = context.partition_keys
    # Each partition shows its own figures, never the run's.
    for key in keys:
        hour = hourly_partitions.time_window_for_partition_key(key).start
        f = per_hour.get(hour) or {
            "rows": 0,
            "first_observations": 0,
            "with_gain": 0,
            "views_gained": 0,
            "last_observed_at": None,
            "source": "none",
        }
        hour_metadata = {
            "dagster/row_count": f["rows"],
            "first_observations": f["first_observations"],
            "videos_with_gain": f["with_gain"],
            "views_gained_since_previous_observations": f["views_gained"],
            "source": f["source"],
        }
        if len(keys) <= TOP_GROWERS_MAX_HOURS and f["last_observed_at"] is not None:
            newest = f["last_observed_at"]
            hour_metadata["top_growers"] = top_growers_md(
                engine, newest - timedelta(hours=1), newest
            )
        context.add_asset_metadata(hour_metadata, partition_key=key)
    # Facts true of every partition this run wrote.
    return dg.MaterializeResult(
        metadata={**table_metadata(engine, "video_growth_hourly"), "hours_in_run": len(keys)}
    )


@dg.asset(
    metadata=table_name("video_growth_daily"),
    group_name="metrics",
    kinds={"postgres"},
    partitions_def=daily_partitions,
    deps=["video_growth_hourly"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    freshness_policy=DAILY_FRESHNESS,
    description=(
        "Per video per UTC day (table ytmetrics.video_growth_daily): growth over the day, the "
        "day's last observation minus the last observation before the day (the same definition "
        "as `ytmetrics metrics --interval day`), % growth, likes and comments gained, and "
        "engagement rate (likes + comments) / views. Each partition's metadata: its rows, views "
        "gained and the day's top growers ranked by views gained within the day."
    ),
)
def video_growth_daily(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    window = context.partition_time_window
    engine = warehouse.get_engine()
    growth_store.rebuild_daily_growth(engine, window.start, window.end)
    per_day = figures.daily_growth_figures(
        engine, growth_store.utc_date(window.start), growth_store.utc_date(window.end)
    )
    keys = context.partition_keys
    for key in keys:
        day = daily_partitions.time_window_for_partition_key(key)
        f = per_day.get(day.start.date()) or {
            "rows": 0,
            "views_gained": 0,
            "mean_engagement_rate": None,
            "source": "none",
        }
        day_metadata = {
            "dagster/row_count": f["rows"],
            "views_gained": f["views_gained"],
            "source": f["source"],
        }
        if f["mean_engagement_rate"] is not None:
            day_metadata["mean_engagement_rate"] = f["mean_engagement_rate"]
        if len(keys) <= TOP_GROWERS_MAX_DAYS and f["rows"]:
            day_metadata["top_growers"] = top_growers_md(engine, day.start, day.end)
        context.add_asset_metadata(day_metadata, partition_key=key)
    return dg.MaterializeResult(
        metadata={**table_metadata(engine, "video_growth_daily"), "days_in_run": len(keys)}
    )
