"""The time partitions every asset shares (UTC).

They start on the deployment's first day (stored in the warehouse when it was first migrated),
not on a fixed date: a fresh deployment shows no months of "missing" partitions, and the UI
does not slow down with hours nobody could have observed. ``YTMETRICS_PARTITIONS_START``
(YYYY-MM-DD) sets it explicitly; then the definitions load without reaching the warehouse,
which is how production runs them (`ytmetrics dev` passes the stored day on; compose and Helm
set it), so a warehouse outage while a code server restarts does not take the schedules, the
sensors and the freshness policies down with it.
"""

import dagster as dg

from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.warehouse.deployment import partitions_start
from ytmetrics_dagster.warehouse.engine import get_engine, warehouse_url


def _start() -> str:
    override = load_settings().partitions_start  # validated there: a date YYYY-MM-DD
    if override:
        return override.isoformat()
    try:
        return partitions_start(get_engine(warehouse_url())).isoformat()
    except Exception as err:
        raise RuntimeError(
            "cannot read the deployment's first day from the warehouse "
            f"({type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}); "
            "run `ytmetrics db upgrade`, or set YTMETRICS_PARTITIONS_START=YYYY-MM-DD"
        ) from None


PARTITIONS_START = _start()

# end_offset=1: the hour in progress is a partition, so the hourly schedule can observe *now*.
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=PARTITIONS_START + "-00:00", timezone="UTC", end_offset=1
)
# Daily growth covers complete UTC days only.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
