"""What an operator's monitoring reads, computed from the warehouse when asked (the dashboard's
``/metrics`` asks at every Prometheus scrape): nothing is counted in a process, so nothing
resets when one restarts, and every figure is what the tables hold at that moment.

Each query is small: ``snapshot_batches``, ``missed_hours``, ``api_calls``, the quota
reservations, the registration queue and the alerts are short tables, and the two hours'
observation counts read one day partition each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, column, func, select, text

from ytmetrics_dagster.domain.cadence import Cadence
from ytmetrics_dagster.warehouse.quota import BUCKETS, Budget, quota_day, spent_and_held
from ytmetrics_dagster.warehouse.videos import DUE_SQL, due_params

# the scheduler's own query of who is due, counted
_DUE_COUNT = select(func.count()).select_from(
    text(DUE_SQL).columns(column("video_id")).subquery("due")
)


@dataclass(frozen=True)
class HourFigures:
    hour: datetime
    videos_due: int
    videos_observed: int


@dataclass(frozen=True)
class QuotaFigures:
    bucket: str
    used: int
    reserved: int
    budget: int


@dataclass(frozen=True)
class ApiCallOutcome:
    method: str
    outcome: str  # ok | http_error | no_answer | unsettled
    http_status: int | None
    calls: int


@dataclass(frozen=True)
class MonitoringFigures:
    at: datetime
    last_observed_hour: datetime | None
    current: HourFigures
    last_closed: HourFigures
    missed_hours: int
    deferred_observations: int
    quota_day: str
    quota: list[QuotaFigures]
    registrations: dict[str, int]
    oldest_pending_registration: datetime | None
    alerts: dict[tuple[str, str], int]
    api_calls: list[ApiCallOutcome] = field(default_factory=list)

    @property
    def last_observed_lag_seconds(self) -> float | None:
        if self.last_observed_hour is None:
            return None
        return (self.at - self.last_observed_hour).total_seconds()


def _scalar(conn: Connection, sql: str, params: dict | None = None):
    return conn.execute(text(sql), params or {}).scalar_one()


# Who was due, as the hour's scheduled run decided it (its 'hour' batch), plus the new videos
# observed into the hour after it (their 'new_videos' batches); NULL before that run.
_RECORDED_DUE = """
    WITH scheduled AS (
        SELECT batch_id, videos_due FROM ytmetrics.snapshot_batches
        WHERE snapshot_hour = :hour AND kind = 'hour'
        ORDER BY batch_id DESC LIMIT 1
    )
    SELECT s.videos_due + coalesce((
        SELECT sum(b.videos_due) FROM ytmetrics.snapshot_batches b
        WHERE b.snapshot_hour = :hour AND b.kind = 'new_videos' AND b.batch_id > s.batch_id
    ), 0)
    FROM scheduled s
"""


def _hour(conn: Connection, hour: datetime, now: datetime, cadence: Cadence) -> HourFigures:
    due = conn.execute(text(_RECORDED_DUE), {"hour": hour}).scalar()
    if due is None:
        # before the hour's run: the scheduler's own query (about 1 s at 20,000 videos, so it
        # runs only until the run has recorded its figure)
        due = conn.execute(
            _DUE_COUNT, due_params(hour, now, cadence.tiers_json(), cadence.anchor_hour)
        ).scalar_one()
    observed = _scalar(
        conn,
        "SELECT count(*) FROM ytmetrics.metric_snapshots WHERE snapshot_hour = :hour",
        {"hour": hour},
    )
    return HourFigures(hour, int(due), int(observed))


def _deferred(conn: Connection) -> int:
    # video-hours quota pacing put off (docs/quota-pacing.md), as missed_hours counts all
    return int(_scalar(conn, "SELECT count(*) FROM ytmetrics.deferred_observations"))


def _quota(conn: Connection, budget: Budget, now: datetime) -> list[QuotaFigures]:
    figures = spent_and_held(conn, quota_day(now), BUCKETS, now)
    return [
        QuotaFigures(bucket, used, held, budget.limit(bucket, discovery=True))
        for bucket, (used, held) in figures.items()
    ]


def _api_calls(conn: Connection) -> list[ApiCallOutcome]:
    rows = conn.execute(
        text(
            """
            SELECT method,
                   CASE WHEN http_status = 200 THEN 'ok'
                        WHEN http_status IS NOT NULL THEN 'http_error'
                        WHEN settled_at IS NOT NULL THEN 'no_answer'
                        ELSE 'unsettled' END AS outcome,
                   http_status,
                   count(*) AS calls
            FROM ytmetrics.api_calls
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3
            """
        )
    )
    return [ApiCallOutcome(r.method, r.outcome, r.http_status, int(r.calls)) for r in rows]


def monitoring_figures(
    engine: Engine, *, budget: Budget, cadence: Cadence, now: datetime | None = None
) -> MonitoringFigures:
    """Every monitored figure as the warehouse holds it now, read in one snapshot (one
    repeatable-read transaction), so the figures agree with one another."""
    now = now or datetime.now(UTC)
    current = now.replace(minute=0, second=0, microsecond=0)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            last_hour = _scalar(
                conn,
                "SELECT max(snapshot_hour) FROM ytmetrics.snapshot_batches "
                "WHERE videos_written > 0",
            )
            statuses = {
                r.status: int(r.n)
                for r in conn.execute(
                    text(
                        "SELECT status, count(*) AS n FROM ytmetrics.registration_requests "
                        "GROUP BY status"
                    )
                )
            }
            alerts = {
                (r.kind, r.state): int(r.n)
                for r in conn.execute(
                    text(
                        "SELECT kind, delivery_state AS state, count(*) AS n "
                        "FROM ytmetrics.alerts GROUP BY 1, 2"
                    )
                )
            }
            return MonitoringFigures(
                at=now,
                last_observed_hour=last_hour,
                current=_hour(conn, current, now, cadence),
                last_closed=_hour(conn, current - timedelta(hours=1), now, cadence),
                missed_hours=int(_scalar(conn, "SELECT count(*) FROM ytmetrics.missed_hours")),
                deferred_observations=_deferred(conn),
                quota_day=quota_day(now).isoformat(),
                quota=_quota(conn, budget, now),
                registrations=statuses,
                oldest_pending_registration=_scalar(
                    conn,
                    "SELECT min(requested_at) FROM ytmetrics.registration_requests "
                    "WHERE status = 'pending'",
                ),
                alerts=alerts,
                api_calls=_api_calls(conn),
            )
