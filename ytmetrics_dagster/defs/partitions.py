"""The time partitions every asset shares (UTC).

They start on the deployment's first day, not on a fixed date: a fresh deployment shows no
months of "missing" partitions, and the UI does not slow down with hours nobody could have
observed. The day comes from configuration, never from the database, so the definitions load
with no I/O (and a warehouse outage while a code server restarts does not take the schedules,
the sensors and the freshness policies down with it): ``YTMETRICS_PARTITIONS_START``
(YYYY-MM-DD; compose and Helm set it), else the day recorded in the data directory when its
warehouse was first migrated (``$YTMETRICS_HOME/partitions_start``, written by `ytmetrics db
upgrade` and `ytmetrics dev`; the warehouse keeps the same day in ``ytmetrics.deployment``).
"""

import dagster as dg

from ytmetrics_dagster.settings import first_partition_day, load_settings


def _start() -> str:
    day = first_partition_day()
    if day is None:
        home = load_settings().home
        raise RuntimeError(
            "the time partitions' first day is not configured: no YTMETRICS_PARTITIONS_START "
            f"and nothing recorded in {home / 'partitions_start'}. Run `ytmetrics db upgrade` "
            "(or `make run`) to migrate the warehouse and record it, or set "
            "YTMETRICS_PARTITIONS_START=YYYY-MM-DD"
        )
    return day.isoformat()


PARTITIONS_START = _start()

# end_offset=1: the hour in progress is a partition, so the hourly schedule can observe *now*.
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=PARTITIONS_START + "-00:00", timezone="UTC", end_offset=1
)
# Daily growth covers complete UTC days only.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
