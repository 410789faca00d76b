"""Schedules, built from the partitioned jobs; all running by default."""

import os

import dagster as dg

from ytmetrics_dagster.defs.jobs import (
    CURRENT_HOUR_RUN_TAGS,
    analysis_job,
    daily_growth_job,
    hourly_snapshot_job,
    tracked_videos_job,
    tracked_videos_run_config,
)


def _snapshot_minute() -> int:
    raw = os.environ.get("YTMETRICS_SNAPSHOT_MINUTE", "5")
    minute = int(raw) if raw.isdigit() else -1
    if not 0 <= minute <= 59:
        raise ValueError(f"YTMETRICS_SNAPSHOT_MINUTE must be 0..59, got {raw!r}")
    return minute


# With end_offset=1 the newest partition is the hour in progress, so each tick observes *now*.
hourly_snapshot_schedule = dg.build_schedule_from_partitioned_job(
    hourly_snapshot_job,
    name="hourly_snapshot_schedule",
    minute_of_hour=_snapshot_minute(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags=CURRENT_HOUR_RUN_TAGS,
)

# Daily partitions end at the last complete day, so the 00:30 tick rolls up yesterday.
daily_growth_schedule = dg.build_schedule_from_partitioned_job(
    daily_growth_job,
    name="daily_growth_schedule",
    hour_of_day=0,
    minute_of_hour=30,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

refresh_tracked_videos_schedule = dg.ScheduleDefinition(
    name="refresh_tracked_videos_schedule",
    job=tracked_videos_job,
    cron_schedule="15 3 * * *",
    execution_timezone="UTC",
    run_config=tracked_videos_run_config(refresh_active=True),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: refresh titles and details of active videos, apply stragglers.",
)

analysis_schedule = dg.ScheduleDefinition(
    name="analysis_schedule",
    job=analysis_job,
    cron_schedule="25 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly, after the snapshot: launch curves and milestone projections.",
)
