"""Replay one quota day hour by hour with an injected clock: the production pacing and
selection functions (or main's all-or-nothing reservation, for "before"), the quota ledger in
Postgres, and the simulator's own quota accounting (``SimulatorState.charge``, which refuses
a unit over its limit as YouTube does). Used by test_quota_pacing.py and
benchmarks/quota_day_benchmark.py; scaled down (a budget of tens of units) so it runs in
seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, text

from ytmetrics_dagster.defs.snapshots.pacing import pace_hour
from ytmetrics_dagster.domain.cadence import parse_cadence
from ytmetrics_dagster.domain.pacing import quota_day_for
from ytmetrics_dagster.warehouse.quota import (
    Budget,
    QuotaBudgetExceeded,
    release,
    reserve,
    units_for_ids,
)
from ytmetrics_dagster.warehouse.snapshots import replace_snapshot_partition
from ytmetrics_dagster.warehouse.videos import due_video_ids
from ytmetrics_dagster.youtube.models import VideoStatistics
from ytmetrics_dagster.youtube.simulator.state import SimulatorState

CADENCE = parse_cadence("7d:1h,*:24h", 12)
OBSERVE_MINUTE = timedelta(minutes=5)
# the same quota day in the simulator's books, whatever the replayed date
SIM_BUCKET = "default"

# Quota days of 2026 in America/Los_Angeles: spring forward, a plain day, fall back.
DAY_23H = date(2026, 3, 8)
DAY_24H = date(2026, 6, 10)
DAY_25H = date(2026, 11, 1)


@dataclass
class DayResult:
    mode: str
    day_hours: int
    budget: int
    spent: int = 0
    refused_by_simulator: int = 0
    hours_without_observation: int = 0
    deferred: int = 0
    observed: int = 0
    due: int = 0
    young_due: int = 0
    young_observed: int = 0
    per_hour: list[tuple[int, int, int]] = field(default_factory=list)  # due, observed, units

    @property
    def unspent(self) -> int:
        return self.budget - self.spent

    @property
    def unspent_while_deferred(self) -> int:
        return self.unspent if self.due > self.observed else 0

    @property
    def over_budget(self) -> int:
        return max(0, self.spent - self.budget) + self.refused_by_simulator

    @property
    def young_coverage(self) -> float:
        return self.young_observed / self.young_due if self.young_due else 1.0


def make_id(prefix: str, i: int) -> str:
    return (prefix + format(i, "x")).rjust(11, "0")[-11:]


def insert_videos(engine: Engine, day_start: datetime, young: int, hourly: int, daily: int):
    """Videos whose tier is fixed all day: ``young`` published an hour before the day (first
    48 hours throughout), ``hourly`` 4 days old (hourly tier), ``daily`` 60 days old.
    Returns the young ids."""
    rows = (
        [(make_id("yng", i), day_start - timedelta(hours=1)) for i in range(young)]
        + [(make_id("hrl", i), day_start - timedelta(days=4)) for i in range(hourly)]
        + [(make_id("dly", i), day_start - timedelta(days=60)) for i in range(daily)]
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.videos (video_id, title, channel_id, published_at, source,
                                              added_at)
                VALUES (:vid, 'replay', 'UCreplay', :published, 'simulator', :added)
                """
            ),
            [{"vid": v, "published": p, "added": day_start - timedelta(days=1)} for v, p in rows],
        )
    return {v for v, _ in rows[:young]}


def _spend(engine: Engine, day: date, at: datetime, units: int, reservation: int | None):
    if units <= 0:
        return
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.api_calls (called_at, quota_day, method, bucket, units,
                    source, run_id, reservation_id, http_status, settled_at)
                VALUES (:at, :day, 'videos', 'default', 1, 'simulator', 'replay',
                        :reservation, 200, :at)
                """
            ),
            [{"at": at, "day": day, "reservation": reservation}] * units,
        )


def replay_day(
    engine: Engine,
    day: date,
    *,
    budget_units: int,
    young: int,
    hourly: int,
    daily: int = 0,
    mode: str = "paced",
    retries: dict[int, int] | None = None,
    reserve_units: int = 1,
) -> DayResult:
    """Replay the quota day ``day``: every hour, who is due, what the run may spend, the
    calls it makes (plus ``retries[hour index]`` retried attempts, a unit each), the write.
    ``mode`` "paced" (this branch) or "refusal" (main: reserve every due unit or lose the
    hour)."""
    qday = quota_day_for(day)
    budget = Budget(daily_units=budget_units, discovery_reserve_units=0)
    simulator = SimulatorState(quota_limit=budget_units)
    young_ids = insert_videos(engine, qday.start, young, hourly, daily)
    result = DayResult(mode, qday.hours, budget_units)
    tiers = CADENCE.tiers_json()
    for index, hour in enumerate(qday.hour_starts()):
        now = hour + OBSERVE_MINUTE
        due = due_video_ids(engine, hour, now, tiers, CADENCE.anchor_hour)
        reservations: list[int | None] = []
        if mode == "paced":
            paced = pace_hour(
                engine,
                budget,
                CADENCE,
                hour,
                now,
                len(due),
                now=now,
                run_id=f"replay-{index}",
                use_batch_get_stats=False,
                reserve_units=reserve_units,
                hold_for=timedelta(hours=1),
            )
            chosen = paced.video_ids
            reservations = list(paced.reservations.values())
            result.deferred += paced.deferred
        else:
            try:
                reservations = [
                    reserve(
                        engine,
                        budget,
                        units_for_ids(len(due)),
                        now,
                        purpose="replay",
                        run_id=f"replay-{index}",
                    )
                ]
                chosen = due
            except QuotaBudgetExceeded:
                chosen = []
        units = math.ceil(len(chosen) / 50) + ((retries or {}).get(index, 0) if chosen else 0)
        charged = sum(simulator.charge(1, SIM_BUCKET) for _ in range(units))
        result.refused_by_simulator += units - charged
        _spend(engine, day, now, units, reservations[0] if reservations else None)
        release(engine, reservations)
        result.spent += units
        if chosen:
            replace_snapshot_partition(
                engine,
                hour,
                [VideoStatistics(v, 1000 + index, 10, 1) for v in chosen],
                observed_at=now,
                source="simulator",
                run_id=f"replay-{index}",
                videos_due=len(chosen),
                api_calls=units,
            )
        elif due:
            result.hours_without_observation += 1
        result.due += len(due)
        result.observed += len(chosen)
        result.young_due += sum(v in young_ids for v in due)
        result.young_observed += sum(v in young_ids for v in chosen)
        result.per_hour.append((len(due), len(chosen), units))
    return result
