"""The paced hourly run: reserve what the hour may spend, observe the due videos it covers in
priority order, defer the rest (see ytmetrics_dagster.domain.pacing and warehouse/pacing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from ytmetrics_dagster.domain.cadence import Cadence
from ytmetrics_dagster.domain.pacing import Allowance, interleave, split_batches
from ytmetrics_dagster.warehouse.pacing import select_due
from ytmetrics_dagster.warehouse.quota import (
    IDS_PER_UNIT,
    Budget,
    release,
    reserve_paced,
    units_for_ids,
)
from ytmetrics_dagster.youtube.client import BATCH_GET_STATS, BATCH_STATS_BUCKET


@dataclass
class PacedHour:
    video_ids: list[str]
    due: int
    deferred: int
    reservations: dict[str, int] = field(default_factory=dict)
    allowances: dict[str, Allowance] = field(default_factory=dict)
    methods: list[str] | None = None

    @property
    def allowance_units(self) -> int:
        return sum(a.units for a in self.allowances.values())

    def figures(self) -> dict:
        figures = {
            "videos_deferred": self.deferred,
            "quota_allowance_units": self.allowance_units,
        }
        for bucket, a in self.allowances.items():
            prefix = "quota_pacing" if bucket == "default" else "quota_pacing_batch_get_stats"
            figures[f"{prefix}_allowance_units"] = a.units
            figures[f"{prefix}_units_left_today"] = a.left
        first = next(iter(self.allowances.values()), None)
        if first is not None:
            figures["quota_day_hours"] = first.day_hours
            figures["quota_day_hour_index"] = first.hour_index
        return figures


def pace_hour(
    engine: Engine,
    budget: Budget,
    cadence: Cadence,
    hour: datetime,
    as_of: datetime | None,
    due_count: int,
    *,
    now: datetime,
    run_id: str | None,
    use_batch_get_stats: bool,
    reserve_units: int,
    hold_for: timedelta,
    keep: Sequence[str] = (),
) -> PacedHour:
    """Reserve the hour's allowance (up to what its ``due_count`` videos need, per bucket),
    then select the videos it covers and record the deferral of the others. Nothing granted
    means no video is selected: the caller records the hour as missed."""
    wanted = units_for_ids(due_count)
    reservations: dict[str, int] = {}
    allowances: dict[str, Allowance] = {}
    granted: dict[str, int] = {}
    purpose = f"snapshot hour {hour:%Y-%m-%d %H:00} (paced)"
    try:
        buckets = (BATCH_STATS_BUCKET, "default") if use_batch_get_stats else ("default",)
        for bucket in buckets:
            reservation, paced = reserve_paced(
                engine,
                budget,
                wanted - sum(granted.values()),
                now,
                purpose=purpose,
                run_id=run_id,
                bucket=bucket,
                hold_for=hold_for,
                reserve_units=reserve_units,
            )
            allowances[bucket] = paced
            if reservation is not None:
                reservations[bucket] = reservation
                granted[bucket] = min(wanted - sum(granted.values()), paced.units)
        units = sum(granted.values())
        if units == 0:
            return PacedHour([], due_count, 0, reservations, allowances)
        reason = (
            f"quota pacing: the hour's allowance was {units} units ({units * IDS_PER_UNIT} "
            f"videos) for {due_count} due videos"
        )
        ids, deferred = select_due(
            engine,
            hour,
            as_of or now,
            cadence.tiers_json(),
            cadence.anchor_hour,
            # videos collected into the hour on request stay in it, first (the hour's write
            # replaces the partition whole)
            limit=max(units * IDS_PER_UNIT - len(keep), 0),
            reason=reason,
            run_id=run_id,
            now=now,
        )
        if keep:
            kept = set(keep)
            ids = [*keep, *(i for i in ids if i not in kept)]
    except BaseException:
        release(engine, reservations.values())
        raise
    methods = None
    if use_batch_get_stats and ids:
        on_default, on_batch = split_batches(
            units_for_ids(len(ids)), granted.get("default", 0), granted.get(BATCH_STATS_BUCKET, 0)
        )
        methods = interleave(on_default, on_batch, "videos", BATCH_GET_STATS)
    return PacedHour(ids, due_count, deferred, reservations, allowances, methods)
