"""Age-tiered observation cadence: young videos every hour, older ones less often.

A tier is (max age, interval): ``7d:1h,*:24h`` means hourly for the first 7 days after
``published_at``, then once a day. A video on an N-hour interval is due in the hours whose
index (hours since the epoch) minus ``anchor_hour`` is a multiple of N; with N = 24 and
anchor 12 that is 12:00 UTC every day. A video whose last observation is N or more hours old,
or that was never observed, is due at once (catch-up after failures, new registrations).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_PART = re.compile(r"^(?:(?P<age>\d+)(?P<unit>[hd])|\*):(?P<every>\d+)h$")


@dataclass(frozen=True)
class Tier:
    max_age_hours: float | None  # None: no upper bound (the last tier)
    every_hours: int


@dataclass(frozen=True)
class Cadence:
    tiers: tuple[Tier, ...]
    anchor_hour: int = 12

    def interval_for_age(self, age_hours: float | None) -> int:
        for tier in self.tiers:
            if tier.max_age_hours is None or (
                age_hours is not None and age_hours < tier.max_age_hours
            ):
                return tier.every_hours
        return self.tiers[-1].every_hours

    def tiers_json(self) -> list[dict]:
        # ytmetrics.cadence_interval picks the first tier by "pos": JSON array order is not
        # something to rely on once it has been through jsonb_to_recordset
        return [
            {"pos": i, "max_age_hours": t.max_age_hours, "every_hours": t.every_hours}
            for i, t in enumerate(self.tiers)
        ]

    def units_per_day(self, videos_per_interval: dict[int, int], ids_per_unit: int = 50) -> int:
        """Upper bound of daily quota units for that many videos on each interval."""
        return sum(
            math.ceil(n / ids_per_unit) * (24 // every)
            for every, n in videos_per_interval.items()
            if n
        )


def parse_cadence(spec: str, anchor_hour: int = 12) -> Cadence:
    """Parse ``7d:1h,30d:6h,*:24h``. Raises ValueError with the offending part."""
    tiers: list[Tier] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        match = _PART.match(part)
        if not match:
            raise ValueError(f"invalid cadence tier {part!r}; expected like 7d:1h or *:24h")
        every = int(match["every"])
        if every < 1 or 24 % every:
            raise ValueError(f"cadence interval must divide 24 hours, got {every}h in {part!r}")
        age = None
        if match["age"]:
            age = float(match["age"]) * (24 if match["unit"] == "d" else 1)
        tiers.append(Tier(age, every))
    if not tiers or tiers[-1].max_age_hours is not None:
        raise ValueError("the last cadence tier must be '*:<N>h' (videos of any age)")
    ages = [t.max_age_hours for t in tiers[:-1]]
    if any(a is None for a in ages) or ages != sorted(ages):
        raise ValueError("cadence tiers must be in increasing age, with '*' only last")
    if not 0 <= anchor_hour <= 23:
        raise ValueError("anchor hour must be 0..23")
    return Cadence(tuple(tiers), anchor_hour)
