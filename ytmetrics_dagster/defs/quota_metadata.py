"""Quota figures every API-bound asset reports, numeric so the UI plots them over time."""

from datetime import UTC, datetime

from sqlalchemy import Engine

from ytmetrics_dagster.cadence import Cadence, cadence_from_env
from ytmetrics_dagster.warehouse.quota import IDS_PER_UNIT, Budget, quota_day, units_used
from ytmetrics_dagster.warehouse.videos import active_by_interval
from ytmetrics_dagster.youtube.client import BATCH_STATS_BUCKET

HOURS_PER_DAY = 24


def quota_metadata(engine: Engine, budget: Budget, cadence: Cadence | None = None) -> dict:
    """Units used today, the daily need of the current set under the cadence tiers, and
    how many more videos fit (counted as young, hourly-observed videos: the costly case)."""
    cadence = cadence or cadence_from_env()
    now = datetime.now(UTC)
    per_interval = active_by_interval(engine, cadence.tiers_json(), now)
    need = cadence.units_per_day(per_interval, IDS_PER_UNIT)
    spare = max(0, budget.collection_units - need)
    return {
        "quota_units_used_today": units_used(engine, quota_day(now)),
        "quota_batch_get_stats_units_used_today": units_used(
            engine, quota_day(now), BATCH_STATS_BUCKET
        ),
        "quota_units_per_day_needed": need,
        "quota_units_per_day_budget": budget.collection_units,
        "quota_more_hourly_videos_fit": spare // HOURS_PER_DAY * IDS_PER_UNIT,
        "quota_day_pacific": str(quota_day(now)),
        "videos_hourly": per_interval.get(1, 0),
        "videos_less_than_hourly": sum(n for every, n in per_interval.items() if every != 1),
    }
