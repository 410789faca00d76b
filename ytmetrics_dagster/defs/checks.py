"""Asset checks that look across partitions: freshness and gaps of the hourly snapshots.

Per-partition checks (non-negative counts, unique rows, decreasing views, growth
reconciliation) are emitted by the assets themselves for exactly the hours they wrote.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse.quality import latest_snapshot_hour

FRESHNESS_LIMIT = timedelta(hours=2)
GAP_WINDOW_HOURS = 24


@dg.asset_check(
    asset="video_metric_snapshots",
    name="snapshots_fresh",
    description="The newest snapshot hour is at most 2 hours old.",
)
def snapshots_fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    latest = latest_snapshot_hour(warehouse.get_engine())
    now = datetime.now(UTC)
    age_hours = None if latest is None else (now - latest).total_seconds() / 3600
    return dg.AssetCheckResult(
        passed=latest is not None and now - latest <= FRESHNESS_LIMIT + timedelta(hours=1),
        metadata={
            "latest_snapshot_hour": latest.isoformat() if latest else "none",
            "age_hours": round(age_hours, 2) if age_hours is not None else -1,
        },
    )


@dg.asset_check(
    asset="video_metric_snapshots",
    name="no_missing_hours_24h",
    description="Every hourly partition of the last 24 closed hours has been materialized.",
)
def no_missing_hours_24h(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    wanted = {
        (now - timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M")
        for h in range(1, GAP_WINDOW_HOURS + 1)
    }
    wanted &= set(hourly_partitions.get_partition_keys())
    done = context.instance.get_materialized_partitions(dg.AssetKey("video_metric_snapshots"))
    missing = sorted(wanted - set(done))
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_hours": len(missing), "missing": ", ".join(missing[:24])},
    )
