"""Today's quota: the ledger, the pacing of the hour in progress and the day's forecast, in
one dict (``ytmetrics quota``, the snapshot asset's metadata, the capacity alert)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from ytmetrics_dagster.domain.cadence import Cadence
from ytmetrics_dagster.domain.capacity import (
    CapacitySettings,
    default_units_by_hour,
    estimate_capacity,
)
from ytmetrics_dagster.domain.pacing import (
    DEFAULT_RESERVE_UNITS,
    allowance,
    quota_day_of,
    run_out_hour,
)
from ytmetrics_dagster.settings import channel_poll_seconds, configured_cadence
from ytmetrics_dagster.warehouse.capacity import capacity_counts
from ytmetrics_dagster.warehouse.pacing import deferred_by_tier, units_by_method
from ytmetrics_dagster.warehouse.quota import Budget, units_used_and_held
from ytmetrics_dagster.youtube.api_limits import BATCH_STATS_BUCKET


def quota_status(
    engine: Engine,
    budget: Budget,
    cadence: Cadence | None = None,
    *,
    use_batch_get_stats: bool = False,
    reserve_units: int = DEFAULT_RESERVE_UNITS,
    now: datetime | None = None,
) -> dict:
    now = now or datetime.now(UTC)
    cadence = cadence or configured_cadence()
    qday = quota_day_of(now)
    buckets = ("default", BATCH_STATS_BUCKET) if use_batch_get_stats else ("default",)
    ledger, pacing = {}, {}
    for bucket in buckets:
        used, held = units_used_and_held(engine, qday.day, bucket, now)
        limit = budget.limit(bucket)
        paced = allowance(limit, used, held, qday, now, reserve_units)
        ledger[bucket] = {"used": used, "held": held, "limit": limit, "left": paced.left}
        pacing[bucket] = {
            "hour_allowance_units": paced.units,
            "hour_allowance_videos": paced.units * 50,
            "share_plus_unused_units": paced.straight_line,
            "even_spread_units": paced.even_spread,
            "reserve_units": reserve_units,
        }
    counts = capacity_counts(engine, cadence.tiers_json(), now)
    settings = CapacitySettings(
        daily_units=budget.daily_units,
        discovery_reserve_units=budget.discovery_reserve_units,
        batch_stats_daily_units=budget.batch_stats_daily_units,
        use_batch_get_stats=use_batch_get_stats,
        channel_poll_seconds=channel_poll_seconds(),
        day_hours=qday.hours,
    )
    capacity = estimate_capacity(counts, settings)
    run_out = run_out_hour(default_units_by_hour(counts, settings), capacity.budget_units)
    run_out_at = qday.hour_starts()[run_out] if run_out is not None else None
    deferred = deferred_by_tier(engine, qday.start, qday.end)
    return {
        "quota_day": str(qday.day),
        "day_hours": qday.hours,
        "hour_index": qday.hour_index(now),
        "day_start_utc": qday.start.isoformat(),
        "resets_at_utc": qday.end.isoformat(),
        "ledger": {
            "buckets": ledger,
            "units_by_method": units_by_method(engine, qday.day),
        },
        "pacing": pacing,
        "deferred_today": {"total": sum(deferred.values()), "by_tier": deferred},
        "forecast": {
            "units_per_day_by_component": {
                "hourly": capacity.hourly_units,
                "tiered": capacity.tiered_units,
                "refresh": capacity.refresh_units,
                "discovery": capacity.discovery_units,
                "registrations": capacity.registration_units,
            },
            "units_per_day_needed": capacity.needed_units,
            "units_per_day_budget": capacity.budget_units,
            "shortfall_units": capacity.shortfall_units,
            "batch_get_stats_needed": capacity.batch_stats_needed_units,
            "batch_get_stats_budget": capacity.batch_stats_budget_units,
            "budget_runs_out_without_pacing_utc": run_out_at.isoformat() if run_out_at else None,
            "more_hourly_videos_fit": capacity.more_hourly_videos_fit,
        },
    }


def flat_metadata(status: dict) -> dict:
    """The per-day figures as flat, numeric-where-possible metadata (the UI plots numbers)."""
    forecast = status["forecast"]
    flat = {
        "quota_day_hours": status["day_hours"],
        "quota_deferred_today": status["deferred_today"]["total"],
        "quota_budget_runs_out_without_pacing": forecast["budget_runs_out_without_pacing_utc"]
        or "fits",
    }
    for tier, n in status["deferred_today"]["by_tier"].items():
        flat[f"quota_deferred_today_{tier}"] = n
    for bucket, figures in status["pacing"].items():
        prefix = "quota_pacing" if bucket == "default" else "quota_pacing_batch_get_stats"
        flat[f"{prefix}_hour_allowance_units"] = figures["hour_allowance_units"]
    for key, units in status["ledger"]["units_by_method"].items():
        flat["quota_units_today_" + key.replace(":", "_").replace("batchGetStats", "bgs")] = units
    return flat


def render(status: dict) -> str:
    """``ytmetrics quota``: today's ledger, pacing and forecast, for people."""
    lines = [
        f"quota day {status['quota_day']} (Pacific): {status['day_hours']} hours, now in hour "
        f"{status['hour_index'] + 1}; resets at {status['resets_at_utc']}",
        "",
        "ledger",
    ]
    for bucket, f in status["ledger"]["buckets"].items():
        lines.append(
            f"  {bucket:<14} used {f['used']:>6,}  held {f['held']:>5,}  left {f['left']:>6,}"
            f"  of {f['limit']:,}"
        )
    for key, units in status["ledger"]["units_by_method"].items():
        lines.append(f"    {key:<28} {units:>6,}")
    lines += ["", "pacing (this hour)"]
    for bucket, f in status["pacing"].items():
        lines.append(
            f"  {bucket:<14} may spend {f['hour_allowance_units']:,} units "
            f"({f['hour_allowance_videos']:,} videos); share+unused {f['share_plus_unused_units']:,}"
            f", even spread {f['even_spread_units']:,}, reserve {f['reserve_units']}"
        )
    deferred = status["deferred_today"]
    tiers = ", ".join(f"{k} {v:,}" for k, v in deferred["by_tier"].items()) or "none"
    lines.append(f"  deferred today: {deferred['total']:,} ({tiers})")
    forecast = status["forecast"]
    parts = ", ".join(f"{k} {v:,}" for k, v in forecast["units_per_day_by_component"].items())
    lines += [
        "",
        "forecast (the tracked set as it is now)",
        f"  {forecast['units_per_day_needed']:,} units/day needed of "
        f"{forecast['units_per_day_budget']:,} ({parts})",
        "  without pacing the budget would run out at: "
        + (forecast["budget_runs_out_without_pacing_utc"] or "never (the day fits)"),
        f"  more hourly videos that fit: {forecast['more_hourly_videos_fit']:,}",
    ]
    return "\n".join(lines)
