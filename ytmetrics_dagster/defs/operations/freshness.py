"""Freshness, watched from outside the runs.

Each asset carries a Dagster ``FreshnessPolicy``. The daemon (``dagster dev`` and
``dagster-daemon`` run it) evaluates every policy about every 30 seconds against the asset's
last materialization, so a deployment whose schedule or runs stalled turns WARN and then FAIL
(red in the UI) on its own, whether or not any job still runs. A policy has nothing to say
before an asset's first materialization (UNKNOWN), so a fresh deployment is not red for hours
before tracking began.

(Dagster 1.13 marks ``build_last_update_freshness_checks``, ``build_time_partition_freshness_
checks`` and ``build_sensor_for_freshness_checks`` as superseded by these policies.)

``freshness_alert_sensor`` turns a FAIL into an alert (ytmetrics.alerts, and the webhook), once
per failure.
"""

from datetime import timedelta

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState

from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.services.alerting import raise_alert

# Hourly assets (the snapshot job runs at minute 5, the analysis job at minute 25) are
# normally at most an hour and a few minutes old. WARN: the hour's run is more than about ten
# minutes late. FAIL: a whole hourly run is missing.
HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(minutes=100), warn_window=timedelta(minutes=70)
)
# Daily assets (daily growth at 00:30, the tracked-videos refresh at 03:15) are at most a day
# and a few minutes old. WARN: the day's run is half an hour late. FAIL: it is two hours late.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=24, minutes=30)
)


def watched_assets(repository_def) -> list[dg.AssetKey]:
    graph = repository_def.asset_graph
    return sorted(
        (key for key in graph.get_all_asset_keys() if graph.get(key).freshness_policy),
        key=lambda k: k.to_user_string(),
    )


@dg.sensor(
    name="freshness_alert_sensor",
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Raises an alert (ytmetrics.alerts and the webhook) when an asset's freshness policy, "
        "evaluated by the Dagster daemon, turns FAIL: the hourly snapshots stopped, or any "
        "other scheduled asset is overdue. Once per failure."
    ),
)
@skips_while_warehouse_down
def freshness_alert_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    keys = watched_assets(context.repository_def)
    records = context.instance.get_freshness_state_records(keys)
    failing = {
        key: record
        for key, record in records.items()
        if record.freshness_state == FreshnessState.FAIL
    }
    raised = 0
    for key, record in failing.items():
        name = key.to_user_string()
        policy = context.repository_def.asset_graph.get(key).freshness_policy
        window = getattr(policy, "fail_window", None)
        limit = f" (no materialization for {window.to_timedelta()})" if window else ""
        if raise_alert(
            warehouse.get_engine(),
            "freshness",
            f"freshness:{name}:{int(record.updated_at.timestamp())}",
            f"{name} is overdue{limit}",
            {"asset": name, "failing_since": record.updated_at.isoformat()},
        ):
            raised += 1
    return dg.SkipReason(
        f"{len(failing)} of {len(keys)} watched asset(s) failing freshness; {raised} new alert(s)"
    )
