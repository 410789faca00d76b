"""The hourly schedule: observes the hour in progress at minute YTMETRICS_SNAPSHOT_MINUTE."""

import dagster as dg

from ytmetrics_dagster.defs.snapshots.jobs import hourly_snapshot_job
from ytmetrics_dagster.defs.tags import CURRENT_HOUR_RUN_TAGS
from ytmetrics_dagster.settings import load_settings


def _snapshot_minute() -> int:
    return load_settings().snapshot_minute  # validated there: 0..59


# With end_offset=1 the newest partition is the hour in progress, so each tick observes *now*.
hourly_snapshot_schedule = dg.build_schedule_from_partitioned_job(
    hourly_snapshot_job,
    name="hourly_snapshot_schedule",
    minute_of_hour=_snapshot_minute(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags=CURRENT_HOUR_RUN_TAGS,
)
