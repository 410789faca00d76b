"""Quota figures every API-bound asset reports, numeric so the UI plots them over time."""

from datetime import UTC, datetime

from sqlalchemy import Engine

from ytmetrics_dagster.warehouse.quota import quota_day, units_for_ids, units_used
from ytmetrics_dagster.warehouse.videos import status_counts

HOURS_PER_DAY = 24


def quota_metadata(engine: Engine, daily_quota_units: int) -> dict:
    now = datetime.now(UTC)
    active = status_counts(engine)["active"]
    projected = units_for_ids(active) * HOURS_PER_DAY
    return {
        "quota_units_used_today": units_used(engine, quota_day(now)),
        "quota_projected_daily_units": projected,
        "quota_daily_budget": daily_quota_units,
        "quota_day_pacific": str(quota_day(now)),
    }
