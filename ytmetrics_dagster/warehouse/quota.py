"""The quota ledger and budget: every YouTube API attempt in Postgres, by quota day.

YouTube's daily quota resets at midnight Pacific time, so the quota day is the Pacific date of
the call. ``videos.list``, ``channels.list`` and ``playlistItems.list`` cost 1 unit per call;
attempts that fail are charged too (the API charges invalid requests, and a timed-out request
may have reached it).

Durability: ``DurableLedger.before_send`` inserts and commits the attempt's row on its own
connection before the attempt goes out; if that fails the attempt is not sent. A killed run or
a dead warehouse can therefore leave a row whose answer is unknown, never a spent unit without
a row.

Atomic budget: a run reserves the units it needs (``reserve``) under an advisory lock of the
quota day, against the units already spent plus the units other open reservations still hold.
Two runs that together exceed what is left cannot both start spending.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from ytmetrics_dagster.domain.pacing import Allowance, allowance, quota_day_of
from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.youtube.api_limits import BATCH_STATS_BUCKET, MAX_IDS_PER_CALL

log = logging.getLogger(__name__)

PACIFIC = ZoneInfo("America/Los_Angeles")
# videos.list and batchGetStats take up to 50 ids for 1 unit
IDS_PER_UNIT = MAX_IDS_PER_CALL
BUCKETS = ("default", BATCH_STATS_BUCKET)


class QuotaBudgetExceeded(RuntimeError):
    pass


class LedgerUnavailableError(RuntimeError):
    """The attempt could not be recorded, so it was not sent."""


def quota_day(at: datetime) -> date:
    return at.astimezone(PACIFIC).date()


def next_reset(at: datetime) -> datetime:
    """The next midnight Pacific after ``at``, in UTC."""
    day = quota_day(at) + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=PACIFIC).astimezone(UTC)


def units_for_ids(n_ids: int) -> int:
    return math.ceil(n_ids / IDS_PER_UNIT)


# Reasons come from the server; bounded so a hostile answer cannot bloat the ledger.
MAX_REASON = 200


class DurableLedger:
    """The ``CallLedger`` of the YouTube client, writing ``ytmetrics.api_calls``."""

    def __init__(
        self, engine: Engine, run_id: str | None, reservations: dict[str, int] | None = None
    ):
        self._engine = engine
        self.run_id = run_id
        self.reservations = dict(reservations or {})

    def before_send(self, method: str, bucket: str, source: str) -> int:
        now = datetime.now(UTC)
        try:
            with self._engine.begin() as conn:
                return conn.execute(
                    text(
                        """
                        INSERT INTO ytmetrics.api_calls (called_at, quota_day, method, bucket,
                            units, source, run_id, reservation_id)
                        VALUES (:at, :day, :method, :bucket, 1, :source, :run_id, :reservation)
                        RETURNING call_id
                        """
                    ),
                    {
                        "at": now,
                        "day": quota_day(now),
                        "method": method,
                        "bucket": bucket,
                        "source": source,
                        "run_id": self.run_id,
                        "reservation": self.reservations.get(bucket),
                    },
                ).scalar_one()
        except SQLAlchemyError as err:
            raise LedgerUnavailableError(
                f"not sending YouTube API {method}: the quota ledger cannot record it "
                f"({type(err).__name__})"
            ) from None

    def settle(
        self, token: object, http_status: int | None, reason: str | None, source: str
    ) -> None:
        # The unit is already on record; a lost outcome only leaves the row unsettled.
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    text(
                        """
                        UPDATE ytmetrics.api_calls
                        SET http_status = :status, reason = :reason, source = :source,
                            settled_at = :now
                        WHERE call_id = :id
                        """
                    ),
                    {
                        "status": http_status,
                        "reason": (reason or None) and reason[:MAX_REASON],
                        "source": source,
                        "now": datetime.now(UTC),
                        "id": token,
                    },
                )
        except SQLAlchemyError as err:
            log.warning("could not settle API call %s in the ledger: %s", token, type(err).__name__)


def units_used(engine: Engine, day: date, bucket: str = "default") -> int:
    with engine.connect() as conn:
        return _spent(conn, day, bucket)


def units_used_and_held(engine: Engine, day: date, bucket: str, now: datetime) -> tuple[int, int]:
    """(units spent on ``day`` from ``bucket``, units its open reservations still hold), read
    together (one snapshot of the ledger)."""
    with engine.connect() as conn:
        return _spent_and_held(conn, day, bucket, now)


def _spent(conn: Connection, day: date, bucket: str) -> int:
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(units), 0) FROM ytmetrics.api_calls "
                "WHERE quota_day = :day AND bucket = :bucket"
            ),
            {"day": day, "bucket": bucket},
        ).scalar_one()
    )


# Spent and held in one statement, so both read one snapshot: under READ COMMITTED each
# statement sees what was committed before it started. Read in two statements, a call that a
# run in progress records between them is missing from the units spent (read first) and no
# longer held by its reservation (read second): counted nowhere, it made the budget look one
# unit larger per such call (a reservation could be granted past the limit).
SPENT_AND_HELD_SQL = """
SELECT b.bucket,
    (SELECT coalesce(sum(units), 0) FROM ytmetrics.api_calls
     WHERE quota_day = :day AND bucket = b.bucket) AS spent,
    (SELECT coalesce(sum(greatest(r.units - coalesce(c.spent, 0), 0)), 0)
     FROM ytmetrics.quota_reservations r
     LEFT JOIN LATERAL (
         SELECT sum(units) AS spent FROM ytmetrics.api_calls
         WHERE reservation_id = r.reservation_id
     ) c ON true
     WHERE r.quota_day = :day AND r.bucket = b.bucket
       AND r.released_at IS NULL AND r.expires_at > :now) AS held
FROM unnest(CAST(:buckets AS text[])) AS b(bucket)
"""


def spent_and_held(
    conn: Connection, day: date, buckets: Sequence[str], now: datetime
) -> dict[str, tuple[int, int]]:
    """Per bucket: (units spent on ``day``, units its open reservations still hold), all read
    in one statement: a call recorded while they are read is counted in one of the two, once."""
    rows = conn.execute(
        text(SPENT_AND_HELD_SQL), {"day": day, "buckets": list(buckets), "now": now}
    )
    return {r.bucket: (int(r.spent), int(r.held)) for r in rows}


def _spent_and_held(conn: Connection, day: date, bucket: str, now: datetime) -> tuple[int, int]:
    return spent_and_held(conn, day, [bucket], now)[bucket]


@dataclass(frozen=True)
class Budget:
    daily_units: int = 10_000
    discovery_reserve_units: int = 500
    # videos:batchGetStats draws from its own daily bucket
    batch_stats_daily_units: int = 10_000

    @property
    def collection_units(self) -> int:
        return max(0, self.daily_units - self.discovery_reserve_units)

    def limit(self, bucket: str, *, discovery: bool = False) -> int:
        if bucket == BATCH_STATS_BUCKET:
            return self.batch_stats_daily_units
        return self.daily_units if discovery else self.collection_units


def _exceeded(
    purpose: str,
    needed: int,
    left: int,
    used: int,
    held: int,
    budget: Budget,
    bucket: str,
    day,
    now,
) -> QuotaBudgetExceeded:
    if bucket == "default":
        total = budget.daily_units
        reserve = f", {budget.discovery_reserve_units} reserved for discovery"
    else:
        total = budget.batch_stats_daily_units
        reserve = f", {bucket} bucket"
    pending = f", {held} held by runs in progress" if held else ""
    reset = next_reset(now)
    return QuotaBudgetExceeded(
        f"{purpose} needs {needed} quota units but only {max(left, 0)} are left today "
        f"({used} of {total} used on quota day {day}{pending}{reserve}); the quota resets at "
        f"{reset.astimezone(PACIFIC):%Y-%m-%d %H:%M %Z} ({reset:%H:%M} UTC)"
    )


def reserve(
    engine: Engine,
    budget: Budget,
    needed: int,
    now: datetime,
    *,
    purpose: str,
    run_id: str | None,
    bucket: str = "default",
    hold_for: timedelta = timedelta(hours=1),
    discovery: bool = False,
) -> int | None:
    """Reserve ``needed`` units of today's budget of ``bucket`` atomically, or raise
    QuotaBudgetExceeded (before any call) saying what is needed, left and when it resets.
    Returns the reservation id (None when nothing is needed)."""
    if needed <= 0:
        return None
    day = quota_day(now)
    with engine.begin() as conn:
        locks.xact_lock(conn, locks.QUOTA, day.toordinal() * 2 + BUCKETS.index(bucket))
        used, held = _spent_and_held(conn, day, bucket, now)
        left = budget.limit(bucket, discovery=discovery) - used - held
        if needed > left:
            raise _exceeded(purpose, needed, left, used, held, budget, bucket, day, now)
        return _insert_reservation(conn, day, bucket, needed, purpose, run_id, now, hold_for)


def _insert_reservation(
    conn, day, bucket: str, units: int, purpose: str, run_id, now: datetime, hold_for: timedelta
) -> int:
    return conn.execute(
        text(
            """
            INSERT INTO ytmetrics.quota_reservations
                (quota_day, bucket, units, purpose, run_id, created_at, expires_at)
            VALUES (:day, :bucket, :units, :purpose, :run_id, :now, :expires)
            RETURNING reservation_id
            """
        ),
        {
            "day": day,
            "bucket": bucket,
            "units": units,
            "purpose": purpose[:200],
            "run_id": run_id,
            "now": now,
            "expires": now + hold_for,
        },
    ).scalar_one()


def reserve_paced(
    engine: Engine,
    budget: Budget,
    wanted: int,
    now: datetime,
    *,
    purpose: str,
    run_id: str | None,
    bucket: str = "default",
    hold_for: timedelta = timedelta(hours=1),
    reserve_units: int = 1,
) -> tuple[int | None, Allowance]:
    """Reserve up to ``wanted`` units of what the hour holding ``now`` may spend under quota
    pacing (ytmetrics_dagster.domain.pacing), atomically under the same lock as ``reserve``: never
    more than is left. Returns (reservation id or None when nothing was granted, the
    allowance, whose ``units`` were computed before granting)."""
    day = quota_day(now)
    with engine.begin() as conn:
        locks.xact_lock(conn, locks.QUOTA, day.toordinal() * 2 + BUCKETS.index(bucket))
        used, held = _spent_and_held(conn, day, bucket, now)
        paced = allowance(budget.limit(bucket), used, held, quota_day_of(now), now, reserve_units)
        granted = min(max(wanted, 0), paced.units)
        if granted <= 0:
            return None, paced
        reservation = _insert_reservation(
            conn, day, bucket, granted, purpose, run_id, now, hold_for
        )
        return reservation, paced


def release(engine: Engine, reservation_ids) -> None:
    ids = [r for r in reservation_ids if r is not None]
    if not ids:
        return
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE ytmetrics.quota_reservations SET released_at = now() "
                    "WHERE reservation_id = ANY(:ids) AND released_at IS NULL"
                ),
                {"ids": ids},
            )
    except SQLAlchemyError as err:
        # an unreleased reservation expires by itself
        log.warning("could not release quota reservations %s: %s", ids, type(err).__name__)


def units_left(engine: Engine, budget: Budget, now: datetime, bucket: str = "default") -> int:
    """Units of today's budget neither spent nor held by an open reservation."""
    day = quota_day(now)
    with engine.connect() as conn:
        used, held = _spent_and_held(conn, day, bucket, now)
    return budget.limit(bucket) - used - held


def release_for_runs(engine: Engine, run_ids) -> int:
    """Release the open reservations of these runs (they ended: their units were never spent
    and are free for a retry at once, not when the reservation expires). Returns how many."""
    ids = [r for r in run_ids if r]
    if not ids:
        return 0
    with engine.begin() as conn:
        return conn.execute(
            text(
                "UPDATE ytmetrics.quota_reservations SET released_at = now() "
                "WHERE run_id = ANY(:ids) AND released_at IS NULL"
            ),
            {"ids": ids},
        ).rowcount


def open_reservation_runs(engine: Engine, now: datetime) -> list[str]:
    """Run ids holding an open, unexpired reservation."""
    with engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT DISTINCT run_id FROM ytmetrics.quota_reservations "
                    "WHERE released_at IS NULL AND expires_at > :now AND run_id IS NOT NULL"
                ),
                {"now": now},
            )
        ]
