"""Analysis tables computed set-based in Postgres: channel daily growth, launch curves with
the channel median, and milestone projections. Each rebuild replaces its rows in one
transaction.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.warehouse.growth import utc_date
from ytmetrics_dagster.warehouse.locks import xact_lock

# Ages at which launch curves are read: (label, hours after published_at).
LAUNCH_AGES = (("1h", 1), ("6h", 6), ("24h", 24), ("48h", 48), ("7d", 168), ("30d", 720))
# The two observations around an age are used only if they are at most this far apart:
# max(2 h, half the age). Wider brackets give NULL rather than a guess.
MIN_BRACKET_HOURS = 2.0
BRACKET_FRACTION = 0.5
TREND_WINDOW_HOURS = 24
# A straight line a year out is true to the method and useless to a person: an ETA beyond
# this horizon is stored as NULL and reported as "beyond 1 year", never as a date.
ETA_HORIZON_HOURS = 24 * 365
ETA_HORIZON_LABEL = "1 year"
MILESTONE_METHOD = (
    "linear extrapolation of views/hour between the first and the last observation of the "
    f"{TREND_WINDOW_HOURS} h ending at the latest observation; an ETA more than "
    f"{ETA_HORIZON_LABEL} away is reported as beyond {ETA_HORIZON_LABEL}, not as a date"
)

_CHANNEL_DAILY_SQL = """
WITH d AS (
    SELECT g.*, v.channel_id
    FROM ytmetrics.video_growth_daily g
    JOIN ytmetrics.videos v USING (video_id)
    WHERE g.day >= CAST(:start AS date) AND g.day < CAST(:end AS date) AND v.channel_id IS NOT NULL
),
published AS (
    SELECT channel_id, CAST(published_at AT TIME ZONE 'UTC' AS date) AS day, count(*) AS n
    FROM ytmetrics.videos
    WHERE published_at >= CAST(:start AS date) AND published_at < CAST(:end AS date)
    GROUP BY 1, 2
)
INSERT INTO ytmetrics.channel_growth_daily
    (channel_id, day, videos_observed, videos_published, views_gained, likes_gained,
     comments_gained, top_video_id, top_video_views_gained)
SELECT d.channel_id, d.day, count(*), coalesce(max(p.n), 0),
       sum(d.views_gained), sum(d.likes_gained), sum(d.comments_gained),
       (array_agg(d.video_id ORDER BY d.views_gained DESC, d.video_id))[1],
       max(d.views_gained)
FROM d LEFT JOIN published p ON p.channel_id = d.channel_id AND p.day = d.day
GROUP BY d.channel_id, d.day
"""

_LAUNCH_SQL = """
WITH ages AS (
    SELECT * FROM jsonb_to_recordset(CAST(:ages AS jsonb)) AS a(age_label text, age_hours integer)
),
targets AS (
    SELECT v.video_id, v.video_key, v.channel_id, a.age_label, a.age_hours,
           v.published_at + make_interval(hours => a.age_hours) AS target,
           greatest(:min_bracket, a.age_hours * :fraction) AS max_bracket_hours
    FROM ytmetrics.videos v CROSS JOIN ages a
    WHERE v.published_at IS NOT NULL AND v.status <> 'removed'
      AND (CAST(:vid AS text) IS NULL OR v.video_id = CAST(:vid AS text))
      AND v.published_at + make_interval(hours => a.age_hours) <= :now
),
bracketed AS (
    SELECT t.*, b.observed_at AS b_at, b.view_count AS b_views, b.like_count AS b_likes,
           b.comment_count AS b_comments, f.observed_at AS f_at, f.view_count AS f_views,
           f.like_count AS f_likes, f.comment_count AS f_comments
    FROM targets t
    -- bounded by the widest usable bracket, so only a few day partitions are searched
    LEFT JOIN LATERAL (
        SELECT o.observed_at, s.view_count, s.like_count, s.comment_count
        FROM ytmetrics.metric_snapshots s
        CROSS JOIN LATERAL (SELECT s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at) o
        WHERE s.video_key = t.video_key AND s.snapshot_hour <= t.target
          AND s.snapshot_hour >= t.target - make_interval(hours => CAST(ceil(t.max_bracket_hours) AS integer) + 1)
          AND o.observed_at <= t.target
        ORDER BY s.snapshot_hour DESC LIMIT 1
    ) b ON true
    LEFT JOIN LATERAL (
        SELECT o.observed_at, s.view_count, s.like_count, s.comment_count
        FROM ytmetrics.metric_snapshots s
        CROSS JOIN LATERAL (SELECT s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at) o
        WHERE s.video_key = t.video_key AND s.snapshot_hour >= t.target - interval '1 hour'
          AND s.snapshot_hour <= t.target + make_interval(hours => CAST(ceil(t.max_bracket_hours) AS integer))
          AND o.observed_at >= t.target
        ORDER BY s.snapshot_hour LIMIT 1
    ) f ON true
),
weighted AS (
    SELECT *,
           CASE
               WHEN b_at IS NULL OR f_at IS NULL THEN NULL
               WHEN extract(epoch FROM f_at - b_at) / 3600.0 > max_bracket_hours THEN NULL
               WHEN f_at = b_at THEN 0.0
               ELSE extract(epoch FROM target - b_at) / extract(epoch FROM f_at - b_at)
           END AS w
    FROM bracketed
)
SELECT video_id, channel_id, age_label, age_hours,
       b_views + w * (f_views - b_views) AS views,
       b_likes + w * (f_likes - b_likes) AS likes,
       b_comments + w * (f_comments - b_comments) AS comments,
       CASE WHEN w IS NULL THEN NULL ELSE NOT (b_at = target OR f_at = target) END AS interpolated,
       CASE WHEN w IS NULL THEN NULL ELSE b_at END AS before_observed_at,
       CASE WHEN w IS NULL THEN NULL ELSE f_at END AS after_observed_at
FROM weighted
"""

# Per channel and age, the median over the channel's videos with a value at that age, stored
# only when at least MIN_CHANNEL_VIDEOS have one (a median of one or two videos is those
# videos). For comparisons at one age (the viral alert). Curves drawn across ages use one
# cohort for all their ages (warehouse/cohorts.py), never these rows joined up.
MIN_CHANNEL_VIDEOS = 3
_CHANNEL_CURVES_SQL = """
INSERT INTO ytmetrics.channel_launch_curves
    (channel_id, age_label, age_hours, videos, median_views, median_likes, median_comments)
SELECT channel_id, age_label, age_hours, count(views),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY views),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY likes),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY comments)
FROM ytmetrics.video_launch_curves
WHERE channel_id IS NOT NULL AND views IS NOT NULL
GROUP BY channel_id, age_label, age_hours
HAVING count(views) >= :min_videos
"""

_MILESTONES_SQL = """
WITH latest AS (
    -- the newest observation is kept per video by the snapshot write
    SELECT v.video_id, v.video_key, st.last_hour AS snapshot_hour,
           st.last_observed_at AS observed_at, st.last_views AS view_count
    FROM ytmetrics.videos v
    JOIN ytmetrics.video_observation_state st USING (video_key)
    WHERE v.status = 'active' AND (CAST(:vid AS text) IS NULL OR v.video_id = CAST(:vid AS text))
),
windowed AS (
    SELECT l.*, f.observed_at AS first_at, f.view_count AS first_views
    FROM latest l
    CROSS JOIN LATERAL (
        SELECT s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at, s.view_count
        FROM ytmetrics.metric_snapshots s
        WHERE s.video_key = l.video_key
          AND s.snapshot_hour >= l.snapshot_hour - make_interval(hours => :window)
          AND s.snapshot_hour <= l.snapshot_hour
        ORDER BY s.snapshot_hour LIMIT 1
    ) f
),
rated AS (
    SELECT *,
           extract(epoch FROM observed_at - first_at) / 3600.0 AS window_hours,
           CASE WHEN observed_at > first_at
                THEN (view_count - first_views) / (extract(epoch FROM observed_at - first_at) / 3600.0)
           END AS views_per_hour,
           (SELECT min(m) FROM unnest(ARRAY[1000, 10000, 100000, 1000000, 10000000,
                                            100000000, 1000000000, 10000000000]::bigint[]) AS m
            WHERE m > view_count) AS next_milestone
    FROM windowed
)
SELECT video_id, :now AS computed_at, view_count AS views, observed_at,
       CASE WHEN views_per_hour IS NOT NULL THEN first_at END AS window_start,
       window_hours, views_per_hour, next_milestone,
       CASE WHEN views_per_hour > 0 AND (next_milestone - view_count) / views_per_hour <= :horizon
            THEN (next_milestone - view_count) / views_per_hour END AS eta_hours,
       CASE WHEN views_per_hour > 0 AND (next_milestone - view_count) / views_per_hour <= :horizon
            THEN observed_at + make_interval(secs => (next_milestone - view_count) / views_per_hour * 3600)
       END AS eta_at,
       :method AS method
FROM rated
"""


def _ages_json() -> str:
    return json.dumps([{"age_label": label, "age_hours": hours} for label, hours in LAUNCH_AGES])


def rebuild_channel_growth_daily(engine: Engine, start: datetime, end: datetime) -> int:
    with engine.begin() as conn:
        xact_lock(conn, locks.ANALYSIS, 1)
        conn.execute(
            text(
                "DELETE FROM ytmetrics.channel_growth_daily WHERE day >= CAST(:start AS date) AND day < CAST(:end AS date)"
            ),
            {"start": utc_date(start), "end": utc_date(end)},
        )
        return conn.execute(
            text(_CHANNEL_DAILY_SQL), {"start": utc_date(start), "end": utc_date(end)}
        ).rowcount


def _launch_params(now: datetime, video_id: str | None) -> dict:
    return {
        "ages": _ages_json(),
        "min_bracket": MIN_BRACKET_HOURS,
        "fraction": BRACKET_FRACTION,
        "now": now,
        "vid": video_id,
    }


def rebuild_launch_curves(engine: Engine, now: datetime) -> dict[str, int]:
    """Replace both launch-curve tables (full refresh: every video's curve can change when a
    late observation lands)."""
    with engine.begin() as conn:
        xact_lock(conn, locks.ANALYSIS, 2)
        conn.execute(text("DELETE FROM ytmetrics.video_launch_curves"))
        conn.execute(text("DELETE FROM ytmetrics.channel_launch_curves"))
        rows = conn.execute(
            text(
                "INSERT INTO ytmetrics.video_launch_curves (video_id, channel_id, age_label, age_hours,"
                " views, likes, comments, interpolated, before_observed_at, after_observed_at) "
                + _LAUNCH_SQL
            ),
            _launch_params(now, None),
        ).rowcount
        channel_rows = conn.execute(
            text(_CHANNEL_CURVES_SQL), {"min_videos": MIN_CHANNEL_VIDEOS}
        ).rowcount
    return {"video_rows": rows, "channel_rows": channel_rows}


def launch_curve_frame(engine: Engine, video_id: str, now: datetime) -> pd.DataFrame:
    """One video's launch curve computed now, with the same SQL as the table."""
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(_LAUNCH_SQL + " ORDER BY age_hours"), conn, params=_launch_params(now, video_id)
        )


def rebuild_milestones(engine: Engine, now: datetime) -> int:
    with engine.begin() as conn:
        xact_lock(conn, locks.ANALYSIS, 3)
        conn.execute(text("DELETE FROM ytmetrics.video_milestones"))
        return conn.execute(
            text(
                "INSERT INTO ytmetrics.video_milestones (video_id, computed_at, views, observed_at,"
                " window_start, window_hours, views_per_hour, next_milestone, eta_hours, eta_at, method) "
                + _MILESTONES_SQL
            ),
            _milestone_params(now, None),
        ).rowcount


def _milestone_params(now: datetime, video_id: str | None) -> dict:
    return {
        "now": now,
        "vid": video_id,
        "window": TREND_WINDOW_HOURS,
        "method": MILESTONE_METHOD,
        "horizon": ETA_HORIZON_HOURS,
    }


def eta_text(milestone: dict | None) -> str:
    """How a person reads a milestone projection: a date within the horizon, "beyond 1 year"
    past it, "none" without growth."""
    if not milestone or milestone.get("next_milestone") is None:
        return "none"
    if milestone.get("eta_at") is not None:
        eta = milestone["eta_at"]
        return eta if isinstance(eta, str) else eta.strftime("%Y-%m-%d %H:%M UTC")
    if (milestone.get("views_per_hour") or 0) > 0:
        return f"beyond {ETA_HORIZON_LABEL}"
    return "none: no growth in the window"


def milestone_row(engine: Engine, video_id: str, now: datetime) -> dict | None:
    """One video's milestone projection computed now, with the same SQL as the table."""
    with engine.connect() as conn:
        row = (
            conn.execute(text(_MILESTONES_SQL), _milestone_params(now, video_id)).mappings().first()
        )
    return dict(row) if row else None
