"""The time partitions every asset shares (UTC)."""

import os

import dagster as dg

# First partition; older hours cannot be observed anyway. Override for a fresh deployment.
PARTITIONS_START = os.environ.get("YTMETRICS_PARTITIONS_START", "2026-01-01")

# end_offset=1: the hour in progress is a partition, so the hourly schedule can observe *now*.
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=PARTITIONS_START + "-00:00", timezone="UTC", end_offset=1
)
# Daily growth covers complete UTC days only.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
