"""Warehouse upkeep: day partitions created ahead and compacted once closed, and retention by
policy (off unless configured). Jobs of ops, not assets: they change how data is stored, or
drop it, rather than produce it; what they drop is reported against the assets it belonged to.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.defs.partitions import daily_partitions, hourly_partitions
from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource
from ytmetrics_dagster.settings import retention_days
from ytmetrics_dagster.warehouse import day_partitions
from ytmetrics_dagster.warehouse.day_partitions import day_start
from ytmetrics_dagster.warehouse.deployment import get_setting, set_setting
from ytmetrics_dagster.warehouse.retention import RetentionPolicy, apply_retention

DAYS_AHEAD = 7


@dg.op(
    description=f"Create the day partitions of the big tables for the next {DAYS_AHEAD} days.",
    out=dg.Out(dg.Nothing),
)
def create_partitions_ahead(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    engine = warehouse.get_engine()
    today = datetime.now(UTC).date()
    days = [today + timedelta(days=n) for n in range(DAYS_AHEAD + 1)]
    with engine.begin() as conn:
        for parent in day_partitions.DAY_PARTITIONED:
            day_partitions.ensure_partitions(conn, parent, days)
    context.add_output_metadata({"days_ahead": DAYS_AHEAD, "through": str(days[-1])})


@dg.op(
    ins={"after": dg.In(dg.Nothing)},
    description="CLUSTER every closed day partition written since it was last compacted: a "
    "video's rows become adjacent, the primary key is rebuilt packed, re-runs leave no dead "
    "tuples.",
)
def compact_closed_partitions(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    engine = warehouse.get_engine()
    done = day_partitions.compact_closed_partitions(engine, datetime.now(UTC).date())
    before = sum(c.bytes_before for c in done)
    after = sum(c.bytes_after for c in done)
    context.add_output_metadata(
        {
            "partitions_compacted": len(done),
            "bytes_before": before,
            "bytes_after": after,
            "compacted": ", ".join(c.partition for c in done[:50]) or "none",
        }
    )


@dg.job(
    description="Daily: day partitions created ahead, closed partitions compacted.",
    tags={"ytmetrics/kind": "upkeep"},
)
def partition_upkeep_job():
    compact_closed_partitions(after=create_partitions_ahead())


partition_upkeep_schedule = dg.ScheduleDefinition(
    name="partition_upkeep_schedule",
    job=partition_upkeep_job,
    cron_schedule="45 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="00:45 UTC: after yesterday's partitions closed and its daily growth ran.",
)


class RetentionConfig(dg.Config):
    snapshot_days: int | None = Field(
        default_factory=lambda: retention_days()[0],
        description="Keep raw snapshots of the last N UTC days (YTMETRICS_RETENTION_SNAPSHOT_DAYS;"
        " unset: forever). YouTube's Developer Policies allow 30 days for statistics obtained "
        "with an API key unless the project is approved for longer storage.",
    )
    derived_days: int | None = Field(
        default_factory=lambda: retention_days()[1],
        description="Keep derived growth tables for the last N UTC days "
        "(YTMETRICS_RETENTION_DERIVED_DAYS; unset: forever).",
    )


def _report_dropped(
    context: dg.OpExecutionContext, engine, asset: str, partitions_def, cutoff: date
) -> int:
    """An observation for each partition Dagster shows as materialized whose data was just
    dropped. Partitions reported by an earlier run (before its cutoff) are not reported again."""
    cutoff_start = day_start(cutoff)
    marker = f"retention_reported_before:{asset}"
    since = get_setting(engine, marker)
    since_start = datetime.fromisoformat(since) if since else None
    keys = []
    for key in context.instance.get_materialized_partitions(dg.AssetKey(asset)):
        start = partitions_def.time_window_for_partition_key(key).start
        if start < cutoff_start and (since_start is None or start >= since_start):
            keys.append(key)
    for key in sorted(keys):
        context.instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=asset,
                partition=key,
                metadata={"dropped_by_retention": True, "run_id": context.run_id},
            )
        )
    if since_start is None or cutoff_start > since_start:
        set_setting(engine, marker, cutoff_start.isoformat())
    return len(keys)


@dg.op(description="Drop whole days older than the retention policy allows; say what was dropped.")
def apply_retention_policy(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> None:
    try:
        policy = RetentionPolicy(config.snapshot_days, config.derived_days)
    except ValueError as err:
        raise dg.Failure(str(err), allow_retries=False) from None
    if not policy.enabled:
        context.add_output_metadata({"policy": "keep everything (not configured)", "dropped": 0})
        return
    # today on the clock the hourly observation reads (the real one, unless a test sets it back)
    result = apply_retention(warehouse.get_engine(), policy, clock.now().date())
    # Each dropped partition gets an observation saying so: Dagster's OSS event log cannot
    # un-materialize a single partition, so the partition's latest event carries the truth.
    engine = warehouse.get_engine()
    reported = {}
    if result.snapshot_cutoff:
        reported["video_metric_snapshots"] = _report_dropped(
            context, engine, "video_metric_snapshots", hourly_partitions, result.snapshot_cutoff
        )
    if result.derived_cutoff:
        for asset, pdef in (
            ("video_growth_hourly", hourly_partitions),
            ("video_growth_daily", daily_partitions),
            ("channel_growth_daily", daily_partitions),
        ):
            reported[asset] = _report_dropped(context, engine, asset, pdef, result.derived_cutoff)
    context.add_output_metadata(
        {
            "snapshot_days": config.snapshot_days or 0,
            "derived_days": config.derived_days or 0,
            "snapshots_kept_from": str(result.snapshot_cutoff or "forever"),
            "derived_kept_from": str(result.derived_cutoff or "forever"),
            "dropped_partitions": len(result.dropped_partitions),
            "dropped": dg.MetadataValue.md(
                "\n".join(f"- {name}" for name in result.dropped_partitions) or "_none_"
            ),
            "deleted_rows": dg.MetadataValue.json(result.deleted_rows),
            "dropped_partitions_reported": dg.MetadataValue.json(reported),
        }
    )


@dg.job(
    description="Retention by policy: drops raw snapshots and, separately configured, derived "
    "tables older than the configured number of days (whole days).",
    tags={"ytmetrics/kind": "retention"},
)
def retention_job():
    apply_retention_policy()


retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention_job,
    cron_schedule="15 1 * * *",
    execution_timezone="UTC",
    # on by default only when a policy is configured
    default_status=dg.DefaultScheduleStatus.RUNNING
    if RetentionPolicy(*retention_days()).enabled
    else dg.DefaultScheduleStatus.STOPPED,
    description="01:15 UTC daily, when YTMETRICS_RETENTION_SNAPSHOT_DAYS or "
    "YTMETRICS_RETENTION_DERIVED_DAYS is set.",
)
