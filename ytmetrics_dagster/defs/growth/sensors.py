"""Growth follows the snapshots: hourly growth is recomputed for every hour (re)written."""

import dagster as dg

growth_automation_sensor = dg.AutomationConditionSensorDefinition(
    "growth_automation_sensor",
    target=dg.AssetSelection.assets("video_growth_hourly"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Recomputes hourly growth of every snapshot hour (re)written outside the hourly "
    "job (re-runs, backfills, new videos), so growth always follows the snapshots.",
)
