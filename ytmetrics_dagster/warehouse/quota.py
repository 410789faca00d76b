"""The quota ledger: every YouTube API call recorded in Postgres, keyed by the quota day.

YouTube's daily quota resets at midnight Pacific time, so the quota day is the Pacific date of
the call. ``videos.list``, ``channels.list`` and ``playlistItems.list`` cost 1 unit per call;
calls that fail are charged too (the API charges invalid requests).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from ytmetrics_dagster.youtube.client import MAX_IDS_PER_CALL
from ytmetrics_dagster.youtube.models import ApiCall

PACIFIC = ZoneInfo("America/Los_Angeles")
# videos.list and batchGetStats take up to 50 ids for 1 unit
IDS_PER_UNIT = MAX_IDS_PER_CALL


class QuotaBudgetExceeded(RuntimeError):
    pass


def quota_day(at: datetime) -> date:
    return at.astimezone(PACIFIC).date()


def next_reset(at: datetime) -> datetime:
    """The next midnight Pacific after ``at``, in UTC."""
    day = quota_day(at) + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=PACIFIC).astimezone(UTC)


def units_for_ids(n_ids: int) -> int:
    return math.ceil(n_ids / IDS_PER_UNIT)


def record_calls(engine: Engine, calls: Sequence[ApiCall], run_id: str | None) -> int:
    if not calls:
        return 0
    rows = [
        {
            "called_at": c.called_at.isoformat(),
            "quota_day": quota_day(c.called_at).isoformat(),
            "method": c.method,
            "bucket": c.bucket,
            "units": c.units,
            "http_status": c.http_status,
            "reason": c.reason,
            "source": c.source,
        }
        for c in calls
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.api_calls
                    (called_at, quota_day, method, bucket, units, http_status, reason, source, run_id)
                SELECT r.called_at, r.quota_day, r.method, r.bucket, r.units, r.http_status,
                       r.reason, r.source, :run_id
                FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
                    called_at timestamptz, quota_day date, method text, bucket text, units integer,
                    http_status integer, reason text, source text)
                """
            ),
            {"rows": json.dumps(rows), "run_id": run_id},
        )
    return len(rows)


def units_used(engine: Engine, day: date, bucket: str = "default") -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT coalesce(sum(units), 0) FROM ytmetrics.api_calls "
                    "WHERE quota_day = :day AND bucket = :bucket"
                ),
                {"day": day, "bucket": bucket},
            ).scalar_one()
        )


@dataclass(frozen=True)
class Budget:
    daily_units: int = 10_000
    discovery_reserve_units: int = 500
    # videos:batchGetStats draws from its own daily bucket
    batch_stats_daily_units: int = 10_000

    @property
    def collection_units(self) -> int:
        return max(0, self.daily_units - self.discovery_reserve_units)


def check_budget(
    engine: Engine,
    budget: Budget,
    needed: int,
    now: datetime,
    *,
    purpose: str,
    bucket: str = "default",
) -> int:
    """Raise QuotaBudgetExceeded, before any call, when ``needed`` units would overspend
    today's collection budget of ``bucket``. Returns the units already used today."""
    day = quota_day(now)
    used = units_used(engine, day, bucket)
    if bucket == "default":
        limit, total = budget.collection_units, budget.daily_units
        reserve = f", {budget.discovery_reserve_units} reserved for discovery"
    else:
        limit = total = budget.batch_stats_daily_units
        reserve = f", {bucket} bucket"
    left = limit - used
    if needed > left:
        reset = next_reset(now)
        raise QuotaBudgetExceeded(
            f"{purpose} needs {needed} quota units but only {max(left, 0)} are left today "
            f"({used} of {total} used on quota day {day}{reserve}); the quota resets at "
            f"{reset.astimezone(PACIFIC):%Y-%m-%d %H:%M %Z} ({reset:%H:%M} UTC)"
        )
    return used
