"""Hours that could not be observed, and why. With the real API such an hour is lost for good
(YouTube cannot report the past), so it is recorded, shown and alerted on, never silent.

Records are true: an hour that holds its full observation (a ``snapshot_batches`` row of kind
'hour' or 'migrated': the scheduled run's whole-hour write) is never recorded as missed, and a
record cleared because a later attempt observed the hour resolves its alert. Each hour has at
most one record (the primary key) and one alert (its dedupe key).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from ytmetrics_dagster.warehouse.alerts import record_alert
from ytmetrics_dagster.warehouse.binds import Bind, transaction


def alert_key(hour: datetime) -> str:
    return f"missed_hour:{hour.isoformat()}"


def cause_of(reason: str) -> str:
    """The kind of loss, from a failure's description."""
    lowered = reason.lower()
    if "quota" in lowered:
        return "quota"
    if "retry-after" in lowered or "rate limit" in lowered:
        return "rate limited"
    if "warehouse" in lowered or "ledger" in lowered or "database" in lowered:
        return "warehouse unavailable"
    if "deadline" in lowered or "too late" in lowered or "closes at" in lowered:
        return "deadline"
    return "failed"


def record_missed_hour(
    engine: Engine,
    hour: datetime,
    reason: str,
    run_id: str | None,
    videos_due: int | None,
    cause: str | None = None,
) -> bool:
    """Record the hour as missed (once; a later failed attempt counts as one more attempt) and
    alert on it, unless the hour holds its full observation already (a failed re-run of a
    complete hour loses nothing). True if recorded."""
    cause = cause or cause_of(reason)
    with engine.begin() as conn:
        recorded = conn.execute(
            text(
                """
                INSERT INTO ytmetrics.missed_hours
                    (snapshot_hour, reason, run_id, videos_due, cause)
                SELECT CAST(:hour AS timestamptz), :reason, :run_id, :due, :cause
                WHERE NOT EXISTS (SELECT 1 FROM ytmetrics.snapshot_batches b
                                  WHERE b.snapshot_hour = :hour
                                    AND b.kind IN ('hour', 'migrated'))
                ON CONFLICT (snapshot_hour) DO UPDATE SET
                    reason = EXCLUDED.reason, run_id = EXCLUDED.run_id,
                    videos_due = EXCLUDED.videos_due, recorded_at = now(),
                    cause = EXCLUDED.cause,
                    attempts = ytmetrics.missed_hours.attempts + 1
                RETURNING snapshot_hour
                """
            ),
            {
                "hour": hour,
                "reason": reason[:2000],
                "run_id": run_id,
                "due": videos_due,
                "cause": cause,
            },
        ).first()
    if recorded is None:
        return False
    record_alert(
        engine,
        "missed_hour",
        alert_key(hour),
        f"hour {hour:%Y-%m-%d %H:00} UTC was not observed ({videos_due or 0} videos due; "
        f"{cause}): {reason[:500]}",
        {
            "snapshot_hour": hour.isoformat(),
            "run_id": run_id,
            "videos_due": videos_due,
            "cause": cause,
        },
    )
    return True


def clear_missed_hours(bind: Bind, hours: Sequence[datetime]) -> list[datetime]:
    """These hours were observed after all (a later attempt succeeded): their records go and
    their alerts are resolved, in one round trip; returns the hours that had a record."""
    if not hours:
        return []
    with transaction(bind) as conn:
        rows = conn.execute(
            text(
                """
                WITH resolved AS (
                    UPDATE ytmetrics.alerts SET resolved_at = now()
                    WHERE dedupe_key = ANY(:keys) AND resolved_at IS NULL
                )
                DELETE FROM ytmetrics.missed_hours WHERE snapshot_hour = ANY(:hours)
                RETURNING snapshot_hour
                """
            ),
            {"hours": list(hours), "keys": [alert_key(h) for h in hours]},
        )
        return sorted(r.snapshot_hour for r in rows)


def tracking_start(conn: Connection) -> datetime | None:
    """The first hour the deployment had to observe: the hour after the first tracked video
    was registered (its registration hour is observed by the new-videos run), not before the
    deployment's first day, nor before what retention has dropped (those hours' records and
    observations are gone on purpose)."""
    return conn.execute(
        text(
            """
            SELECT CASE WHEN min(v.added_at) IS NOT NULL THEN greatest(
                date_trunc('hour', min(v.added_at)) + interval '1 hour',
                (SELECT CAST(value AS date) FROM ytmetrics.deployment
                 WHERE key = 'partitions_start'),
                (SELECT max(CAST(value AS timestamptz)) FROM ytmetrics.deployment
                 WHERE key LIKE 'retention_reported_before:%')
            ) END
            FROM ytmetrics.videos v
            """
        )
    ).scalar_one()


def unaccounted_hours(engine: Engine, last_closed: datetime, limit: int) -> list[datetime]:
    """Closed hours since tracking began, up to ``last_closed``, with neither a full
    observation nor a missed_hours record: oldest first, at most ``limit``."""
    with engine.connect() as conn:
        start = tracking_start(conn)
        if start is None or start > last_closed:
            return []
        rows = conn.execute(
            text(
                """
                SELECT h FROM generate_series(CAST(:start AS timestamptz),
                                              CAST(:end AS timestamptz), interval '1 hour') h
                WHERE NOT EXISTS (SELECT 1 FROM ytmetrics.snapshot_batches b
                                  WHERE b.snapshot_hour = h AND b.kind IN ('hour', 'migrated'))
                  AND NOT EXISTS (SELECT 1 FROM ytmetrics.missed_hours m
                                  WHERE m.snapshot_hour = h)
                ORDER BY h
                LIMIT :limit
                """
            ),
            {"start": start, "end": last_closed, "limit": limit},
        )
        return [r.h for r in rows]


def record_unaccounted(engine: Engine, entries: list[tuple[datetime, str, str]]) -> list[datetime]:
    """Record each (hour, cause, reason) not yet recorded nor observed, in one statement, and
    alert on each hour recorded; returns the hours recorded. Nothing is recorded twice."""
    if not entries:
        return []
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                """
                INSERT INTO ytmetrics.missed_hours (snapshot_hour, reason, cause, attempts)
                SELECT e.hour, e.reason, e.cause, 0
                FROM unnest(CAST(:hours AS timestamptz[]), CAST(:causes AS text[]),
                            CAST(:reasons AS text[])) AS e(hour, cause, reason)
                WHERE NOT EXISTS (SELECT 1 FROM ytmetrics.snapshot_batches b
                                  WHERE b.snapshot_hour = e.hour
                                    AND b.kind IN ('hour', 'migrated'))
                ON CONFLICT (snapshot_hour) DO NOTHING
                RETURNING snapshot_hour, cause, reason
                """
            ),
            {
                "hours": [h for h, _, _ in entries],
                "causes": [c for _, c, _ in entries],
                "reasons": [r[:2000] for _, _, r in entries],
            },
        ).all()
    for row in rows:
        record_alert(
            engine,
            "missed_hour",
            alert_key(row.snapshot_hour),
            f"hour {row.snapshot_hour:%Y-%m-%d %H:00} UTC was not observed ({row.cause}): "
            f"{row.reason[:500]}",
            {"snapshot_hour": row.snapshot_hour.isoformat(), "cause": row.cause},
        )
    return sorted(r.snapshot_hour for r in rows)
