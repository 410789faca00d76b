"""Quota figures every API-bound asset reports, numeric so the UI plots them over time."""

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import Engine

from ytmetrics_dagster.domain.cadence import Cadence
from ytmetrics_dagster.domain.capacity import Capacity, CapacitySettings, estimate_capacity
from ytmetrics_dagster.domain.pacing import quota_day_of
from ytmetrics_dagster.services.quota_status import flat_metadata, quota_status
from ytmetrics_dagster.settings import channel_poll_seconds, configured_cadence
from ytmetrics_dagster.warehouse.capacity import capacity_counts
from ytmetrics_dagster.warehouse.quota import Budget, quota_day, units_used
from ytmetrics_dagster.youtube.client import BATCH_STATS_BUCKET


def current_capacity(
    engine: Engine,
    budget: Budget,
    cadence: Cadence | None = None,
    *,
    use_batch_get_stats: bool = False,
    now: datetime | None = None,
) -> tuple[Capacity, dict]:
    """The capacity estimate of the current set, and the counts it rests on."""
    cadence = cadence or configured_cadence()
    now = now or datetime.now(UTC)
    counts = capacity_counts(engine, cadence.tiers_json(), now)
    capacity = estimate_capacity(
        counts,
        CapacitySettings(
            daily_units=budget.daily_units,
            discovery_reserve_units=budget.discovery_reserve_units,
            batch_stats_daily_units=budget.batch_stats_daily_units,
            use_batch_get_stats=use_batch_get_stats,
            channel_poll_seconds=channel_poll_seconds(),
            # the real length of today's quota day: 23 or 25 hours when Pacific clocks change
            day_hours=quota_day_of(now).hours,
        ),
    )
    return capacity, {
        "videos_hourly": counts.active_by_interval.get(1, 0),
        "videos_less_than_hourly": sum(
            n for every, n in counts.active_by_interval.items() if every != 1
        ),
        "videos_unavailable": counts.unavailable,
        "channels_tracked": counts.tracked_channels,
    }


def quota_metadata(
    engine: Engine,
    budget: Budget,
    cadence: Cadence | None = None,
    *,
    use_batch_get_stats: bool = False,
) -> dict:
    """Units used today; units a day the current set needs, component by component, against
    the budget; and how many more hourly-observed videos fit (see ytmetrics_dagster.domain.capacity)."""
    now = datetime.now(UTC)
    capacity, counts = current_capacity(
        engine, budget, cadence, use_batch_get_stats=use_batch_get_stats, now=now
    )
    day = quota_day(now)
    return {
        "quota_units_used_today": units_used(engine, day),
        "quota_batch_get_stats_units_used_today": units_used(engine, day, BATCH_STATS_BUCKET),
        "quota_units_per_day_needed": capacity.needed_units,
        "quota_units_per_day_budget": capacity.budget_units,
        "quota_units_per_day_hourly": capacity.hourly_units,
        "quota_units_per_day_tiered": capacity.tiered_units,
        "quota_units_per_day_refresh": capacity.refresh_units,
        "quota_units_per_day_discovery": capacity.discovery_units,
        "quota_units_per_day_registrations": capacity.registration_units,
        "quota_units_per_day_shortfall": capacity.shortfall_units,
        "quota_batch_get_stats_units_per_day_needed": capacity.batch_stats_needed_units,
        "quota_batch_get_stats_units_per_day_budget": capacity.batch_stats_budget_units,
        "quota_more_hourly_videos_fit": capacity.more_hourly_videos_fit,
        "quota_day_pacific": str(day),
        **counts,
        # today's pacing, deferrals by tier and the forecast (docs/quota-pacing.md)
        **flat_metadata(
            quota_status(engine, budget, cadence, use_batch_get_stats=use_batch_get_stats, now=now)
        ),
    }


# The same facts under short keys, for the observation of the quota ledger (`api_calls`) that
# each snapshot run records: facts of the quota day, not of any hour.
_QUOTA_DAY_KEYS = {
    "quota_day_pacific": "day_pacific",
    "quota_units_used_today": "used",
    "quota_batch_get_stats_units_used_today": "batch_stats_used",
    "quota_units_per_day_needed": "needed",
    "quota_units_per_day_budget": "budget",
    "quota_units_per_day_shortfall": "shortfall",
    "quota_units_per_day_hourly": "needed_hourly",
    "quota_units_per_day_tiered": "needed_tiered",
    "quota_units_per_day_refresh": "needed_refresh",
    "quota_units_per_day_discovery": "needed_discovery",
    "quota_units_per_day_registrations": "needed_registering",
    "quota_batch_get_stats_units_per_day_needed": "batch_stats_needed",
    "quota_batch_get_stats_units_per_day_budget": "batch_stats_budget",
    "quota_more_hourly_videos_fit": "hourly_videos_fit",
    "videos_hourly": "videos_hourly",
    "videos_less_than_hourly": "videos_tiered",
    "videos_unavailable": "videos_unavailable",
    "channels_tracked": "channels_tracked",
}


def quota_day_observation(
    engine: Engine,
    budget: Budget,
    cadence: Cadence | None = None,
    *,
    use_batch_get_stats: bool = False,
) -> dg.AssetObservation:
    """The quota day so far, as an observation of the quota ledger (`api_calls`): plotted over
    time on that asset, not as single points on each hourly partition of the snapshots."""
    long = quota_metadata(engine, budget, cadence, use_batch_get_stats=use_batch_get_stats)
    metadata = {short: long[key] for key, short in _QUOTA_DAY_KEYS.items()}
    # today's pacing: deferrals by tier, the hour the budget would have run out without it,
    # the allowance (docs/quota-pacing.md)
    metadata.update({_short(k): v for k, v in long.items() if k not in _QUOTA_DAY_KEYS})
    return dg.AssetObservation(asset_key="api_calls", metadata=metadata)


def _short(key: str) -> str:
    """quota_status's flat pacing keys, short enough for a column of the UI (<= 20)."""
    key = key.removeprefix("quota_")
    for long, short in (
        ("budget_runs_out_without_pacing", "runs_out_unpaced"),
        ("pacing_batch_get_stats_hour_allowance_units", "allowance_bgs"),
        ("pacing_hour_allowance_units", "allowance"),
        ("deferred_today_", "deferred_"),
        ("units_today_default_", "used_"),
        ("units_today_bgs_", "used_bgs_"),
    ):
        if key.startswith(long):
            key = short + key[len(long) :]
            break
    return key[:20]
