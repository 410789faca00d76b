"""Derived growth tables, computed in Postgres with window functions over any time range.

Deltas are always against the previous *real* observation of the same video (which may be
hours or days earlier), and rates divide by the real time elapsed between ``observed_at``
values. Nothing is interpolated. Each call replaces exactly its window, in one transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.warehouse.locks import xact_lock

_HOURLY_SQL = """
WITH win AS (
    SELECT video_id, snapshot_hour, observed_at, view_count, like_count, comment_count
    FROM ytmetrics.metric_snapshots
    WHERE snapshot_hour >= :start AND snapshot_hour < :end
),
prev AS (
    -- the last observation before the window, per video: gaps of any length are bridged
    SELECT p.*
    FROM (SELECT DISTINCT video_id FROM win) v
    CROSS JOIN LATERAL (
        SELECT s.video_id, s.snapshot_hour, s.observed_at, s.view_count, s.like_count, s.comment_count
        FROM ytmetrics.metric_snapshots s
        WHERE s.video_id = v.video_id AND s.snapshot_hour < :start
        ORDER BY s.snapshot_hour DESC
        LIMIT 1
    ) p
),
seq AS (
    SELECT u.*,
           lag(observed_at)   OVER w AS prev_observed_at,
           lag(view_count)    OVER w AS prev_views,
           lag(like_count)    OVER w AS prev_likes,
           lag(comment_count) OVER w AS prev_comments
    FROM (SELECT * FROM win UNION ALL SELECT * FROM prev) u
    WINDOW w AS (PARTITION BY video_id ORDER BY snapshot_hour)
)
INSERT INTO ytmetrics.video_growth_hourly
    (video_id, snapshot_hour, observed_at, view_count, like_count, comment_count,
     prev_observed_at, hours_elapsed, views_gained, likes_gained, comments_gained, views_per_hour)
SELECT video_id, snapshot_hour, observed_at, view_count, like_count, comment_count,
       prev_observed_at,
       extract(epoch FROM observed_at - prev_observed_at) / 3600.0,
       view_count - prev_views,
       like_count - prev_likes,
       comment_count - prev_comments,
       (view_count - prev_views)
           / nullif(extract(epoch FROM observed_at - prev_observed_at) / 3600.0, 0)
FROM seq
WHERE snapshot_hour >= :start
"""

_DAILY_SQL = """
WITH rows AS (
    SELECT video_id,
           CAST(snapshot_hour AT TIME ZONE 'UTC' AS date) AS day,
           snapshot_hour, observed_at, view_count, like_count, comment_count,
           views_gained, likes_gained, comments_gained
    FROM ytmetrics.video_growth_hourly
    WHERE snapshot_hour >= :start AND snapshot_hour < :end
),
per_day AS (
    SELECT video_id, day,
           count(*) AS observations,
           min(observed_at) AS first_observed_at,
           max(observed_at) AS last_observed_at,
           (array_agg(view_count ORDER BY snapshot_hour DESC))[1] AS views_end,
           (array_agg(view_count - coalesce(views_gained, 0) ORDER BY snapshot_hour))[1]
               AS views_start,
           (array_agg(like_count ORDER BY snapshot_hour DESC))[1] AS likes_end,
           (array_agg(like_count - coalesce(likes_gained, 0) ORDER BY snapshot_hour))[1] AS likes_start,
           (array_agg(comment_count ORDER BY snapshot_hour DESC))[1] AS comments_end,
           (array_agg(comment_count - coalesce(comments_gained, 0) ORDER BY snapshot_hour))[1]
               AS comments_start
    FROM rows
    GROUP BY video_id, day
)
INSERT INTO ytmetrics.video_growth_daily
    (video_id, day, observations, first_observed_at, last_observed_at,
     views_start, views_end, views_gained, views_growth_pct,
     likes_end, likes_gained, comments_end, comments_gained, engagement_rate)
SELECT video_id, day, observations, first_observed_at, last_observed_at,
       views_start, views_end, views_end - views_start,
       100.0 * (views_end - views_start) / nullif(views_start, 0),
       likes_end, likes_end - likes_start,
       comments_end, comments_end - comments_start,
       CASE WHEN likes_end IS NULL AND comments_end IS NULL THEN NULL
            ELSE (coalesce(likes_end, 0) + coalesce(comments_end, 0))::double precision
                 / nullif(views_end, 0)
       END
FROM per_day
"""


def rebuild_hourly_growth(engine: Engine, start: datetime, end: datetime) -> int:
    """Replace ``video_growth_hourly`` rows with snapshot_hour in [start, end)."""
    with engine.begin() as conn:
        xact_lock(conn, locks.GROWTH, 1)
        conn.execute(
            text(
                "DELETE FROM ytmetrics.video_growth_hourly WHERE snapshot_hour >= :start AND snapshot_hour < :end"
            ),
            {"start": start, "end": end},
        )
        return conn.execute(text(_HOURLY_SQL), {"start": start, "end": end}).rowcount


def rebuild_daily_growth(engine: Engine, start: datetime, end: datetime) -> int:
    """Replace ``video_growth_daily`` rows for the UTC days in [start, end)."""
    with engine.begin() as conn:
        xact_lock(conn, locks.GROWTH, 2)
        conn.execute(
            text(
                "DELETE FROM ytmetrics.video_growth_daily WHERE day >= CAST(:start AS date) AND day < CAST(:end AS date)"
            ),
            {"start": utc_date(start), "end": utc_date(end)},
        )
        return conn.execute(text(_DAILY_SQL), {"start": start, "end": end}).rowcount


def utc_date(value: datetime) -> date:
    return value.astimezone(UTC).date()


def daily_summary(engine: Engine, start: datetime, end: datetime) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                SELECT count(*) AS rows, coalesce(sum(views_gained), 0) AS views_gained,
                       avg(engagement_rate) AS mean_engagement
                FROM ytmetrics.video_growth_daily
                WHERE day >= CAST(:start AS date) AND day < CAST(:end AS date)
                """
            ),
            {"start": utc_date(start), "end": utc_date(end)},
        ).one()
        return {
            "rows": int(row.rows),
            "views_gained": int(row.views_gained),
            "mean_engagement_rate": float(row.mean_engagement)
            if row.mean_engagement is not None
            else None,
        }
