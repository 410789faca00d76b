"""How many quota units a day the tracked set needs, against the budget (pure arithmetic).

Every daily unit the pipeline spends, by component:

- hourly: statistics of the videos on the 1-hour tier, ⌈n/50⌉ calls every hour;
- tiered: what the older tiers add. A video on an N-hour interval is due in the hours where
  ``(hour - anchor) % N == 0``, together with everyone due that hour, so each hour's batches
  are ⌈due(h)/50⌉ and the tiers' cost is the day's total minus the hourly part;
- refresh: ``refresh_tracked_videos_schedule`` re-fetches the details of every active and
  unavailable video once a day, ⌈(active + unavailable)/50⌉;
- discovery: every tracked channel's uploads playlist is polled every
  ``YTMETRICS_CHANNEL_POLL_SECONDS``, at least one ``playlistItems`` page (1 unit) a poll;
- registrations: the ``tracked_videos`` runs that applied registration requests in the last
  24 hours, ⌈requests/50⌉ each for their details, and as much again for the new-videos
  snapshot run each one triggers (the first observation of what it registered): an estimate
  of tomorrow from yesterday, an upper bound (rejected requests cost no observation).

With ``videos:batchGetStats`` on, statistics batches alternate between ``videos.list`` (the
default bucket, ⌈c/2⌉ of c batches) and ``batchGetStats`` (its own bucket, ⌊c/2⌋); details,
discovery and registrations always use the default bucket. The multiplier that gives: with
nothing else tracked, 24·c + c ≤ 9,500 allows c = 380 batches an hour (19,000 hourly videos)
on ``videos.list`` alone, and 24·⌈c/2⌉ + c ≤ 9,500 with 24·⌊c/2⌋ ≤ 10,000 allows c = 730
(36,500) with ``batchGetStats``: 1.92×, not 2×, because the daily refresh stays on
``videos.list``.

The quota day lasts ``day_hours`` (23 or 25 on the days Pacific clocks change): a 25-hour day
has 25 hourly runs, so 19,000 hourly videos need 25 × 380 + 380 = 9,880 units that day.

The budget: the collection budget (daily quota minus the discovery reserve) plus as much of
the reserve as discovery uses. That is exactly the two limits the pipeline enforces: runs
refuse to push collection past daily − reserve, and discovery may spend up to the whole day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

IDS_PER_UNIT = 50
HOURS_PER_DAY = 24
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class CapacityCounts:
    """What the warehouse holds now (one query: ``warehouse.capacity.capacity_counts``)."""

    active_by_interval: Mapping[int, int]  # active videos per cadence interval (hours)
    unavailable: int = 0
    tracked_channels: int = 0
    registration_units_24h: int = 0


@dataclass(frozen=True)
class CapacitySettings:
    daily_units: int = 10_000
    discovery_reserve_units: int = 500
    batch_stats_daily_units: int = 10_000
    use_batch_get_stats: bool = False
    channel_poll_seconds: float = 300.0
    # hours of the quota day: 23 or 25 on the days Pacific clocks change (pacing.QuotaDay)
    day_hours: int = HOURS_PER_DAY

    def __post_init__(self) -> None:
        if self.channel_poll_seconds <= 0:
            raise ValueError("channel poll interval must be positive")


@dataclass(frozen=True)
class Capacity:
    hourly_units: int
    tiered_units: int
    refresh_units: int
    discovery_units: int
    registration_units: int
    needed_units: int  # default bucket, all components
    budget_units: int
    batch_stats_needed_units: int
    batch_stats_budget_units: int
    more_hourly_videos_fit: int

    @property
    def shortfall_units(self) -> int:
        return max(0, self.needed_units - self.budget_units)

    @property
    def batch_stats_shortfall_units(self) -> int:
        return max(0, self.batch_stats_needed_units - self.batch_stats_budget_units)

    @property
    def over_budget(self) -> bool:
        return self.shortfall_units > 0 or self.batch_stats_shortfall_units > 0


def _stats_calls(per_interval: Mapping[int, int], day_hours: int = HOURS_PER_DAY) -> list[int]:
    """Statistics batches of each hour of a quota day (a 25-hour day repeats an hour)."""
    return [
        math.ceil(
            sum(n for every, n in per_interval.items() if n and (hour % 24) % every == 0)
            / IDS_PER_UNIT
        )
        for hour in range(day_hours)
    ]


def _stats_units(
    per_interval: Mapping[int, int], batch: bool, day_hours: int = HOURS_PER_DAY
) -> tuple[int, int]:
    """(default-bucket units, batchGetStats units) of a day of statistics."""
    default = batch_bucket = 0
    for calls in _stats_calls(per_interval, day_hours):
        if batch:
            default += (calls + 1) // 2
            batch_bucket += calls // 2
        else:
            default += calls
    return default, batch_bucket


def _needs(counts: CapacityCounts, settings: CapacitySettings, extra_hourly: int = 0):
    per_interval = dict(counts.active_by_interval)
    for every in per_interval:
        if every < 1 or HOURS_PER_DAY % every:
            raise ValueError(f"cadence interval must divide 24 hours, got {every}")
    per_interval[1] = per_interval.get(1, 0) + extra_hourly
    batch = settings.use_batch_get_stats
    hours = settings.day_hours
    stats_default, stats_batch = _stats_units(per_interval, batch, hours)
    hourly_default, _ = _stats_units({1: per_interval[1]}, batch, hours)
    tracked = sum(per_interval.values()) + counts.unavailable
    polls_per_day = math.ceil(SECONDS_PER_DAY / settings.channel_poll_seconds)
    return {
        "hourly": hourly_default,
        "tiered": stats_default - hourly_default,
        "refresh": math.ceil(tracked / IDS_PER_UNIT),
        "discovery": math.ceil(counts.tracked_channels * polls_per_day * hours / HOURS_PER_DAY),
        # details, then the first observation of the new videos (new_videos_snapshot_sensor)
        "registrations": 2 * counts.registration_units_24h,
        "batch_stats": stats_batch,
    }


def _budget(settings: CapacitySettings, discovery_units: int) -> int:
    collection = max(0, settings.daily_units - settings.discovery_reserve_units)
    return collection + min(discovery_units, settings.discovery_reserve_units)


def _fits(counts: CapacityCounts, settings: CapacitySettings, extra_hourly: int) -> bool:
    needs = _needs(counts, settings, extra_hourly)
    default = sum(v for k, v in needs.items() if k != "batch_stats")
    return (
        default <= _budget(settings, needs["discovery"])
        and needs["batch_stats"] <= settings.batch_stats_daily_units
    )


def estimate_capacity(counts: CapacityCounts, settings: CapacitySettings) -> Capacity:
    """Units a day needed by each component, the budget, and how many more videos on the
    hourly tier fit (each also adds to the daily details refresh): the largest k for which
    the whole need, k more hourly videos included, stays within both buckets' budgets."""
    needs = _needs(counts, settings)
    needed = sum(v for k, v in needs.items() if k != "batch_stats")
    more = 0
    if _fits(counts, settings, 0):
        # need grows with k; every 50 more videos cost at least 13 units/day (12 hours of
        # half the batches + 1 refresh), which bounds the search
        low, high = 0, IDS_PER_UNIT * (settings.daily_units // 13 + 2)
        while low < high:
            mid = (low + high + 1) // 2
            if _fits(counts, settings, mid):
                low = mid
            else:
                high = mid - 1
        more = low
    return Capacity(
        hourly_units=needs["hourly"],
        tiered_units=needs["tiered"],
        refresh_units=needs["refresh"],
        discovery_units=needs["discovery"],
        registration_units=needs["registrations"],
        needed_units=needed,
        budget_units=_budget(settings, needs["discovery"]),
        batch_stats_needed_units=needs["batch_stats"],
        batch_stats_budget_units=settings.batch_stats_daily_units,
        more_hourly_videos_fit=more,
    )


def default_units_by_hour(counts: CapacityCounts, settings: CapacitySettings) -> list[int]:
    """Default-bucket units each hour of the quota day needs: its statistics batches
    (videos.list's half with batchGetStats on) plus an even share of the refresh, discovery
    and registrations. Their running sum against the budget is where a day of all-or-nothing
    runs would be refused from (``pacing.run_out_hour``)."""
    hours = settings.day_hours
    needs = _needs(counts, settings)
    others = needs["refresh"] + needs["discovery"] + needs["registrations"]
    per_hour = []
    for calls in _stats_calls(counts.active_by_interval, hours):
        stats = (calls + 1) // 2 if settings.use_batch_get_stats else calls
        per_hour.append(stats + others / hours)
    return [math.ceil(u) for u in per_hour]
