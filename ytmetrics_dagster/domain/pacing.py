"""Quota pacing: how much of a quota day's budget one hour may spend (pure arithmetic).

The quota day is the Pacific date (the quota resets at midnight Pacific time), so it lasts
23, 24 or 25 hours: 23 on the day clocks spring forward, 25 on the day they fall back. Its
hours are whole UTC hours (Pacific midnight is always on a UTC hour boundary), and the hourly
run of each spends from the same budget.

The rule (see docs/quota-pacing.md): hour ``k`` of a ``D``-hour day with ``a = D - k - 1``
hours after it may spend the larger of

- its *share plus what earlier hours left unused*: ``⌊L·(k+1)/D⌋ − spent − held``, the straight
  line through the day minus everything the day has spent (retries, registrations and the
  daily refresh included) or holds in open reservations;
- an *even spread of what is left*: ``⌊(L − spent − held) / (a + 1)⌋``, so that one large
  spender (the daily details refresh) is repaid by all the remaining hours rather than by the
  next one alone, which would leave it nothing;

and never more than what is left but a reserve of ``reserve_units``: units no paced run
reserves, kept for retries (an attempt beyond a run's reservation) and registrations (which
reserve on their own, against the whole budget). An hour's retries and registrations are
repaid by the later hours, whose straight line they lower. ``L`` is the
bucket's limit: the collection budget (daily quota minus the discovery reserve, which stays
discovery's) for the default bucket, the whole 10,000 for ``batchGetStats``. In the last hour
the straight line reaches ``L``: whatever is left but the reserve may be spent, so at most
the reserve (one batch by default) is left unspent at the reset while videos were deferred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
HOUR = timedelta(hours=1)
# Units of the day no paced run reserves, for retries and registrations: one batch. A retried
# batch costs one more unit; a registration one unit of details and one of first observation.
DEFAULT_RESERVE_UNITS = 1


@dataclass(frozen=True)
class QuotaDay:
    day: date
    start: datetime  # UTC
    end: datetime  # UTC, exclusive: the next reset

    @property
    def hours(self) -> int:
        return round((self.end - self.start) / HOUR)

    def hour_index(self, at: datetime) -> int:
        """Index (0-based) of the UTC hour holding ``at`` within the day."""
        return int((at - self.start) // HOUR)

    def hour_starts(self) -> list[datetime]:
        return [self.start + i * HOUR for i in range(self.hours)]


def quota_day_of(at: datetime) -> QuotaDay:
    """The Pacific quota day holding ``at``, with its real bounds in UTC."""
    day = at.astimezone(PACIFIC).date()
    return quota_day_for(day)


def quota_day_for(day: date) -> QuotaDay:
    start = datetime.combine(day, time(0), tzinfo=PACIFIC).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=PACIFIC).astimezone(UTC)
    return QuotaDay(day, start, end)


@dataclass(frozen=True)
class Allowance:
    units: int  # what the hour may reserve now
    straight_line: int  # its share plus what earlier hours left unused
    even_spread: int  # what is left, spread over the remaining hours
    left: int  # limit − spent − held
    hour_index: int
    day_hours: int
    reserve: int

    @property
    def hours_after(self) -> int:
        return self.day_hours - self.hour_index - 1


def allowance(
    limit: int, spent: int, held: int, day: QuotaDay, at: datetime, reserve: int
) -> Allowance:
    """Units the hour holding ``at`` may spend from a bucket of ``limit`` units a day."""
    hours = day.hours
    k = min(max(day.hour_index(at), 0), hours - 1)
    after = hours - k - 1
    left = limit - spent - held
    straight = (limit * (k + 1)) // hours - spent - held
    spread = left // (after + 1) if left > 0 else 0
    units = max(0, min(max(straight, spread), left - reserve))
    if units == 0 and left > 0:
        # the reserve is for retries of observed hours, not a reason to lose one whole: while a
        # unit is left, the hour gets one batch (its 50 most valuable due videos)
        units = 1
    return Allowance(units, straight, spread, left, k, hours, reserve)


def split_batches(batches: int, default_units: int, batch_units: int) -> tuple[int, int]:
    """(videos.list batches, batchGetStats batches) for ``batches`` batches, at most what
    each bucket's allowance covers: half each (videos.list the odd one), as the capacity
    arithmetic assumes, and what one bucket cannot take goes to the other."""
    default_units, batch_units = max(default_units, 0), max(batch_units, 0)
    on_default = min((batches + 1) // 2, default_units)
    on_batch = min(batches - on_default, batch_units)
    on_default = min(batches - on_batch, default_units)
    return on_default, on_batch


def interleave(on_default: int, on_batch: int, default: str, batch: str) -> list[str]:
    """The method of each batch, alternating while both have batches left (spreads the
    batchGetStats calls out under its per-minute limit)."""
    methods: list[str] = []
    d, b = on_default, on_batch
    while d or b:
        if b:
            methods.append(batch)
            b -= 1
        if d:
            methods.append(default)
            d -= 1
    return methods


def run_out_hour(per_hour_units: Sequence[int], budget: int) -> int | None:
    """Index of the first hour whose need no longer fits once every earlier hour took all it
    needed (what happens without pacing: each run reserves everything or is refused), or
    None if the day fits."""
    total = 0
    for i, units in enumerate(per_hour_units):
        total += units
        if total > budget:
            return i
    return None


def units_for(n_ids: int, ids_per_unit: int = 50) -> int:
    return math.ceil(n_ids / ids_per_unit)
