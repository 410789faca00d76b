"""The daily refresh of tracked videos' details."""

import dagster as dg

from ytmetrics_dagster.defs.registration.jobs import tracked_videos_job, tracked_videos_run_config

refresh_tracked_videos_schedule = dg.ScheduleDefinition(
    name="refresh_tracked_videos_schedule",
    job=tracked_videos_job,
    cron_schedule="15 3 * * *",
    execution_timezone="UTC",
    run_config=tracked_videos_run_config(refresh_active=True),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: refresh titles and details of active videos, apply stragglers.",
)
