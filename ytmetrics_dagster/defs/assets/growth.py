"""Derived growth tables, computed set-based in Postgres from the snapshots."""

from datetime import timedelta

import dagster as dg

from ytmetrics_dagster.defs.partitions import daily_partitions, hourly_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.defs.schemas import GROWTH_DAILY, GROWTH_HOURLY, column_schema
from ytmetrics_dagster.warehouse import growth as growth_store
from ytmetrics_dagster.warehouse.quality import growth_window_reconciliation, sources_between
from ytmetrics_dagster.warehouse.queries import markdown, top_growers_between

# Growth follows snapshots: whenever a snapshot hour is (re)written outside the hourly job (a
# re-run, a backfill, new videos added mid-hour), that hour's growth is recomputed; the
# rebuild also refreshes each video's next observation after it. Bounded to the last week of
# partitions so an old backfill does not fan out across history.
GROWTH_FOLLOWS_SNAPSHOTS = (
    dg.AutomationCondition.in_latest_time_window(timedelta(days=7))
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("growth follows snapshots")

GROWTH_CHECKS = [
    dg.AssetCheckSpec(
        "one_row_per_observation",
        asset="video_growth_hourly",
        blocking=True,
        description="Exactly one growth row per snapshot row in the window.",
    ),
    dg.AssetCheckSpec(
        "totals_reconcile",
        asset="video_growth_hourly",
        blocking=True,
        description="Views gained over the window equal, per video, the last observed views "
        "minus the views before the window, computed straight from the snapshots.",
    ),
]


@dg.asset(
    metadata=column_schema(GROWTH_HOURLY, "video_growth_hourly"),
    group_name="metrics",
    kinds={"postgres"},
    partitions_def=hourly_partitions,
    deps=["video_metric_snapshots"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    automation_condition=GROWTH_FOLLOWS_SNAPSHOTS,
    check_specs=GROWTH_CHECKS,
    description=(
        "Per video per observed hour (table ytmetrics.video_growth_hourly): counters, gains "
        "since the previous real observation (however long ago), hours elapsed and views/hour "
        "over that real elapsed time. First observations have NULL gains."
    ),
)
def video_growth_hourly(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    window = context.partition_time_window  # a whole range in a single-run backfill
    engine = warehouse.get_engine()
    rows = growth_store.rebuild_hourly_growth(engine, window.start, window.end)
    recon = growth_window_reconciliation(engine, window.start, window.end)
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="one_row_per_observation",
                passed=recon["growth_rows"] == recon["snapshot_rows"],
                metadata={
                    "growth_rows": recon["growth_rows"],
                    "snapshot_rows": recon["snapshot_rows"],
                },
            ),
            dg.AssetCheckResult(
                check_name="totals_reconcile",
                passed=recon["growth_total"] == recon["snapshot_total"],
                metadata={
                    "growth_total": recon["growth_total"],
                    "snapshot_total": recon["snapshot_total"],
                },
            ),
        ],
        metadata={
            "dagster/row_count": rows,
            "views_gained": recon["growth_total"],
            "first_observations": recon["first_observations"],
            "source": sources_between(engine, window.start, window.end),
            "top_growers": dg.MetadataValue.md(
                markdown(top_growers_between(engine, window.start, window.end))
            ),
            "window": f"{window.start.isoformat()} .. {window.end.isoformat()}",
        },
    )


@dg.asset(
    metadata=column_schema(GROWTH_DAILY, "video_growth_daily"),
    group_name="metrics",
    kinds={"postgres"},
    partitions_def=daily_partitions,
    deps=["video_growth_hourly"],
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "Per video per UTC day (table ytmetrics.video_growth_daily): views at the start (the "
        "last observation before the day) and end of the day, views gained and % growth, "
        "likes and comments gained, and engagement rate (likes + comments) / views."
    ),
)
def video_growth_daily(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    window = context.partition_time_window
    engine = warehouse.get_engine()
    rows = growth_store.rebuild_daily_growth(engine, window.start, window.end)
    summary = growth_store.daily_summary(engine, window.start, window.end)
    metadata = {
        "dagster/row_count": rows,
        "views_gained": summary["views_gained"],
        "source": sources_between(engine, window.start, window.end),
        "window": f"{window.start.date()} .. {window.end.date()}",
        "top_growers": dg.MetadataValue.md(
            markdown(top_growers_between(engine, window.start, window.end))
        ),
    }
    if summary["mean_engagement_rate"] is not None:
        metadata["mean_engagement_rate"] = summary["mean_engagement_rate"]
    return dg.MaterializeResult(metadata=metadata)
