"""Derived growth tables, computed in Postgres with window functions over any time range.

Deltas are always against the previous *real* observation of the same video (which may be
hours or days earlier), and rates divide by the real time elapsed between observations.
Nothing is interpolated. Each rebuild replaces exactly its window, in one transaction, and
also refreshes the growth row of each video's next observation after the window (its delta
is computed from the last observation inside the window, which a rebuild may have changed).

Rebuilds hold the exclusive side of the growth gate (snapshot writes hold it shared): a
rebuild never runs while an hour of snapshots is being written, so it computes from
snapshots as committed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text

from ytmetrics_dagster.warehouse import day_partitions, locks

# The observation before a window, per video: the state table holds the two newest
# observations (the hourly case), the history serves older windows (backfills, re-runs).
# The two are separate sets: a lateral probe into the history for every video, even one
# gated off, costs videos x day partitions at execution; only the videos that need the
# history are joined to it.
_PREV_BEFORE_START = """
    SELECT k.video_key, p.snapshot_hour, p.observed_at, p.view_count, p.like_count, p.comment_count
    FROM keys k
    JOIN ytmetrics.video_observation_state st USING (video_key)
    CROSS JOIN LATERAL (
        SELECT st.last_hour, st.last_observed_at, st.last_views, st.last_likes, st.last_comments
        WHERE st.last_hour < :start
        UNION ALL
        SELECT st.prev_hour, st.prev_observed_at, st.prev_views, st.prev_likes, st.prev_comments
        WHERE st.last_hour >= :start AND st.prev_hour < :start
    ) p (snapshot_hour, observed_at, view_count, like_count, comment_count)
    UNION ALL
    SELECT h.video_key, p.snapshot_hour, p.observed_at, p.view_count, p.like_count, p.comment_count
    FROM (SELECT k.video_key FROM keys k
          LEFT JOIN ytmetrics.video_observation_state st USING (video_key)
          WHERE st.video_key IS NULL OR st.prev_hour >= :start) h
    CROSS JOIN LATERAL (
        SELECT s.snapshot_hour, s.snapshot_hour + make_interval(secs => s.observed_seconds),
               s.view_count, s.like_count, s.comment_count
        FROM ytmetrics.metric_snapshots s
        WHERE s.video_key = h.video_key AND s.snapshot_hour < :start
        ORDER BY s.snapshot_hour DESC LIMIT 1
    ) p (snapshot_hour, observed_at, view_count, like_count, comment_count)
"""

_WINDOW_ROWS = """
    SELECT video_key, snapshot_hour, snapshot_hour + make_interval(secs => observed_seconds) AS observed_at,
           view_count, like_count, comment_count
    FROM ytmetrics.metric_snapshots
    WHERE snapshot_hour >= :start AND snapshot_hour < :end
"""

# Growth rows of [start, end) computed from the snapshots: a SELECT, so the asset check can
# compare it with what is stored.
# composed from the constant fragments above, never from input
HOURLY_GROWTH_SELECT = f"""
WITH win AS ({_WINDOW_ROWS}),
keys AS (SELECT DISTINCT video_key FROM win),
prev AS ({_PREV_BEFORE_START}),
seq AS (
    SELECT u.*,
           lag(observed_at)   OVER w AS prev_observed_at,
           lag(view_count)    OVER w AS prev_views,
           lag(like_count)    OVER w AS prev_likes,
           lag(comment_count) OVER w AS prev_comments
    FROM (SELECT * FROM win UNION ALL SELECT * FROM prev) u
    WINDOW w AS (PARTITION BY video_key ORDER BY snapshot_hour)
)
SELECT snapshot_hour, observed_at, prev_observed_at, view_count,
       view_count - prev_views AS views_gained,
       extract(epoch FROM observed_at - prev_observed_at) / 3600.0 AS hours_elapsed,
       (view_count - prev_views)
           / nullif(extract(epoch FROM observed_at - prev_observed_at) / 3600.0, 0) AS views_per_hour,
       video_key, like_count, comment_count,
       like_count - prev_likes AS likes_gained,
       comment_count - prev_comments AS comments_gained
FROM seq
WHERE snapshot_hour >= :start
"""  # noqa: S608

_GROWTH_COLUMNS = (
    "snapshot_hour, observed_at, prev_observed_at, view_count, views_gained, hours_elapsed,"
    " views_per_hour, video_key, like_count, comment_count, likes_gained, comments_gained"
)

# Each affected video's first observation after the window, recomputed against the last
# observation before it. Only videos observed after the window are looked at.
_REPAIR_NEXT_SQL = """
WITH keys AS (
    SELECT k.video_key FROM unnest(CAST(:keys AS integer[])) AS k(video_key)
    JOIN ytmetrics.video_observation_state st USING (video_key)
    WHERE st.last_hour >= :end
),
nxt AS (
    SELECT n.* FROM keys k
    CROSS JOIN LATERAL (
        SELECT s.video_key, s.snapshot_hour,
               s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at,
               s.view_count, s.like_count, s.comment_count
        FROM ytmetrics.metric_snapshots s
        WHERE s.video_key = k.video_key AND s.snapshot_hour >= :end
        ORDER BY s.snapshot_hour LIMIT 1
    ) n
),
pairs AS (
    SELECT n.*, p.observed_at AS p_at, p.view_count AS p_views, p.like_count AS p_likes,
           p.comment_count AS p_comments
    FROM nxt n
    LEFT JOIN LATERAL (
        SELECT s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at,
               s.view_count, s.like_count, s.comment_count
        FROM ytmetrics.metric_snapshots s
        WHERE s.video_key = n.video_key AND s.snapshot_hour < n.snapshot_hour
        ORDER BY s.snapshot_hour DESC LIMIT 1
    ) p ON true
)
UPDATE ytmetrics.video_growth_hourly g
SET prev_observed_at = p.p_at,
    views_gained = p.view_count - p.p_views,
    hours_elapsed = extract(epoch FROM p.observed_at - p.p_at) / 3600.0,
    views_per_hour = (p.view_count - p.p_views)
        / nullif(extract(epoch FROM p.observed_at - p.p_at) / 3600.0, 0),
    likes_gained = p.like_count - p.p_likes,
    comments_gained = p.comment_count - p.p_comments
FROM pairs p
WHERE g.video_key = p.video_key AND g.snapshot_hour = p.snapshot_hour
  AND (g.prev_observed_at IS DISTINCT FROM p.p_at OR g.views_gained IS DISTINCT FROM p.view_count - p.p_views
       OR g.likes_gained IS DISTINCT FROM p.like_count - p.p_likes
       OR g.comments_gained IS DISTINCT FROM p.comment_count - p.p_comments)
"""


def _lock_for_rebuild(conn: Connection) -> None:
    locks.xact_lock_exclusive(conn, locks.GROWTH_GATE)
    locks.xact_lock(conn, locks.GROWTH, 1)


def _keys_in_window(conn: Connection, table: str, params: dict) -> set[int]:
    # table is one of two fixed names, never input
    rows = conn.execute(
        text(
            "SELECT DISTINCT video_key FROM ytmetrics."  # noqa: S608
            + {
                "metric_snapshots": "metric_snapshots",
                "video_growth_hourly": "video_growth_hourly",
            }[table]
            + " WHERE snapshot_hour >= :start AND snapshot_hour < :end"
        ),
        params,
    )
    return {r[0] for r in rows}


def rebuild_hourly_growth(engine: Engine, start: datetime, end: datetime) -> int:
    """Replace ``video_growth_hourly`` rows with snapshot_hour in [start, end), and refresh
    the growth row of each affected video's next observation after the window."""
    params = {"start": start, "end": end}
    with engine.begin() as conn:
        _lock_for_rebuild(conn)
        day_partitions.prepare_window(conn, "video_growth_hourly", start, end)
        # Only videos observed after the window can have a next row to refresh: in the hourly
        # case (the newest hour) there are none, and the window's rows are not scanned twice.
        later = conn.execute(
            text("SELECT count(*) FROM ytmetrics.video_observation_state WHERE last_hour >= :end"),
            params,
        ).scalar_one()
        affected: set[int] = set()
        if later:
            affected |= _keys_in_window(conn, "video_growth_hourly", params)
        whole = day_partitions.whole_days(start, end)
        day_partitions.truncate_days(conn, "video_growth_hourly", whole)
        if len(whole) < len(day_partitions.days_between(start, end)):
            conn.execute(
                text(
                    "DELETE FROM ytmetrics.video_growth_hourly"
                    " WHERE snapshot_hour >= :start AND snapshot_hour < :end"
                ),
                params,
            )
        rows = conn.execute(
            text(
                f"INSERT INTO ytmetrics.video_growth_hourly ({_GROWTH_COLUMNS}) "
                + HOURLY_GROWTH_SELECT
                + " ORDER BY video_key, snapshot_hour"
            ),
            params,
        ).rowcount
        if later:
            affected |= _keys_in_window(conn, "metric_snapshots", params)
            conn.execute(text(_REPAIR_NEXT_SQL), {**params, "keys": sorted(affected)})
    return rows


_DAILY_SQL = """
WITH rows AS (
    SELECT video_key,
           CAST(snapshot_hour AT TIME ZONE 'UTC' AS date) AS day,
           snapshot_hour, observed_at, view_count, like_count, comment_count,
           views_gained, likes_gained, comments_gained
    FROM ytmetrics.video_growth_hourly
    WHERE snapshot_hour >= :start AND snapshot_hour < :end
),
per_day AS (
    SELECT video_key, day,
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
    GROUP BY video_key, day
)
INSERT INTO ytmetrics.video_growth_daily
    (video_id, day, observations, first_observed_at, last_observed_at,
     views_start, views_end, views_gained, views_growth_pct,
     likes_end, likes_gained, comments_end, comments_gained, engagement_rate)
SELECT v.video_id, d.day, d.observations, d.first_observed_at, d.last_observed_at,
       d.views_start, d.views_end, d.views_end - d.views_start,
       100.0 * (d.views_end - d.views_start) / nullif(d.views_start, 0),
       d.likes_end, d.likes_end - d.likes_start,
       d.comments_end, d.comments_end - d.comments_start,
       CASE WHEN d.likes_end IS NULL AND d.comments_end IS NULL THEN NULL
            ELSE (coalesce(d.likes_end, 0) + coalesce(d.comments_end, 0))::double precision
                 / nullif(d.views_end, 0)
       END
FROM per_day d JOIN ytmetrics.videos v USING (video_key)
"""


def rebuild_daily_growth(engine: Engine, start: datetime, end: datetime) -> int:
    """Replace ``video_growth_daily`` rows for the UTC days in [start, end), whole days only
    (a window starting mid-day would rebuild part of a day it does not delete)."""
    for bound in (start, end):
        if bound.astimezone(UTC) != bound.astimezone(UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        ):
            raise ValueError(
                f"daily growth is rebuilt by whole UTC days; {bound.isoformat()} is not a midnight"
            )
    with engine.begin() as conn:
        # shared side of the gate: never in the middle of an hourly-growth rebuild
        locks.xact_lock_shared(conn, locks.GROWTH_GATE)
        locks.xact_lock(conn, locks.GROWTH, 2)
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
