"""Growth schedules: yesterday's roll-up at 00:30 UTC, the analysis hourly at minute 25."""

import dagster as dg

from ytmetrics_dagster.defs.growth.jobs import analysis_job, daily_growth_job

# Daily partitions end at the last complete day, so the 00:30 tick rolls up yesterday.
daily_growth_schedule = dg.build_schedule_from_partitioned_job(
    daily_growth_job,
    name="daily_growth_schedule",
    hour_of_day=0,
    minute_of_hour=30,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

analysis_schedule = dg.ScheduleDefinition(
    name="analysis_schedule",
    job=analysis_job,
    cron_schedule="25 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly, after the snapshot: launch curves and milestone projections.",
)
