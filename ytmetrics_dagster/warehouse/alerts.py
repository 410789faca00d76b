"""The ``alerts`` table: one row per alert, deduplicated by key, with its delivery outcome."""

from __future__ import annotations

import json
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


def mark_delivery(
    engine: Engine, alert_id: int, *, delivered_at: datetime | None, error: str | None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ytmetrics.alerts SET delivered_at = :at, delivery_error = :err WHERE alert_id = :id"
            ),
            {"at": delivered_at, "err": error, "id": alert_id},
        )


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
