"""The ``alerts`` table: one row per alert, deduplicated by key, with its delivery state
(pending → delivered, or undeliverable after its last attempt)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, text


def record_alert(
    engine: Engine, kind: str, dedupe_key: str, message: str, details: dict
) -> int | None:
    """Insert the alert; None if an alert with this key exists already (no repeat)."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                INSERT INTO ytmetrics.alerts (kind, dedupe_key, message, details)
                VALUES (:kind, :key, :message, CAST(:details AS jsonb))
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING alert_id
                """
            ),
            {
                "kind": kind,
                "key": dedupe_key,
                "message": message,
                "details": json.dumps(details, default=str),
            },
        ).first()
    return row.alert_id if row else None


@dataclass(frozen=True)
class PendingAlert:
    alert_id: int
    kind: str
    message: str
    details: dict
    created_at: datetime
    attempt: int  # this attempt's number, 1 for the first


def claim_next_delivery(
    engine: Engine, *, now: datetime, lease_until: datetime
) -> PendingAlert | None:
    """The oldest pending alert due for an attempt, counted as attempted and leased until
    ``lease_until`` (a crashed attempt is retried after the lease, never twice at once)."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                UPDATE ytmetrics.alerts
                SET delivery_attempts = delivery_attempts + 1, next_attempt_at = :lease
                WHERE alert_id = (
                    SELECT alert_id FROM ytmetrics.alerts
                    WHERE delivery_state = 'pending'
                      AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
                    ORDER BY created_at, alert_id
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING alert_id, kind, message, details, created_at, delivery_attempts
                """
            ),
            {"now": now, "lease": lease_until},
        ).first()
    if row is None:
        return None
    return PendingAlert(
        row.alert_id, row.kind, row.message, row.details, row.created_at, row.delivery_attempts
    )


def mark_delivered(engine: Engine, alert_id: int, *, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                UPDATE ytmetrics.alerts
                SET delivery_state = 'delivered', delivered_at = :at, next_attempt_at = NULL,
                    delivery_error = NULL
                WHERE alert_id = :id
                """
            ),
            {"at": at, "id": alert_id},
        )


def mark_failed(engine: Engine, alert_id: int, *, error: str, retry_at: datetime | None) -> None:
    """Store the (URL-free) error; retry at ``retry_at``, or give up when it is None."""
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                UPDATE ytmetrics.alerts
                SET delivery_error = :err, next_attempt_at = :retry_at,
                    delivery_state = CASE WHEN CAST(:retry_at AS timestamptz) IS NULL
                                          THEN 'undeliverable' ELSE 'pending' END
                WHERE alert_id = :id
                """
            ),
            {"err": error, "retry_at": retry_at, "id": alert_id},
        )


def expire_pending(engine: Engine, *, created_before: datetime) -> int:
    """Give up on pending alerts too old to be worth sending (e.g. recorded while no
    webhook was configured)."""
    with engine.begin() as conn:
        return conn.execute(
            text(
                """
                UPDATE ytmetrics.alerts
                SET delivery_state = 'undeliverable', next_attempt_at = NULL,
                    delivery_error = coalesce(delivery_error || '; ', '')
                                     || 'expired before it could be delivered'
                WHERE delivery_state = 'pending' AND created_at < :before
                """
            ),
            {"before": created_before},
        ).rowcount


def delivery_backlog(engine: Engine) -> dict[str, int]:
    """Alerts by delivery state."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT delivery_state, count(*) AS n FROM ytmetrics.alerts GROUP BY 1")
        )
        counts = dict.fromkeys(("pending", "delivered", "undeliverable"), 0)
        counts.update({r.delivery_state: r.n for r in rows})
        return counts


def recent_alerts(engine: Engine, limit: int = 50) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            text("SELECT * FROM ytmetrics.alerts ORDER BY created_at DESC, alert_id DESC LIMIT :n"),
            conn,
            params={"n": limit},
        )


def viral_candidates(engine: Engine, multiple: float, min_channel_videos: int) -> pd.DataFrame:
    """Videos whose views at their latest launch-curve age are at least ``multiple`` times
    the channel median at the same age (i.e. their average views/hour since publication is
    that many times the median's), among channels with enough videos at that age."""
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                WITH latest AS (
                    SELECT DISTINCT ON (video_id) video_id, channel_id, age_label, age_hours, views
                    FROM ytmetrics.video_launch_curves
                    WHERE views IS NOT NULL
                    ORDER BY video_id, age_hours DESC
                )
                SELECT l.video_id, v.title, l.channel_id, l.age_label, l.age_hours, l.views,
                       c.median_views, l.views / c.median_views AS ratio, c.videos AS channel_videos
                FROM latest l
                JOIN ytmetrics.channel_launch_curves c USING (channel_id, age_hours)
                JOIN ytmetrics.videos v USING (video_id)
                WHERE v.status = 'active' AND c.videos >= :min_videos AND c.median_views > 0
                  AND l.views >= :multiple * c.median_views
                ORDER BY ratio DESC
                """
            ),
            conn,
            params={"multiple": multiple, "min_videos": min_channel_videos},
        )


NO_WEBHOOK = "not delivered: no webhook is configured (YTMETRICS_ALERT_WEBHOOK_URL)"


def close_without_webhook(engine: Engine) -> int:
    """With no webhook there is nowhere to deliver: pending alerts say so instead of waiting
    forever (a person sees them with `ytmetrics alerts` and the dashboard)."""
    with engine.begin() as conn:
        return conn.execute(
            text(
                """
                UPDATE ytmetrics.alerts
                SET delivery_state = 'undeliverable', next_attempt_at = NULL,
                    delivery_error = :reason
                WHERE delivery_state = 'pending'
                """
            ),
            {"reason": NO_WEBHOOK},
        ).rowcount
