"""Read API over the warehouse, returning pandas DataFrames.

Used by the CLI, notebooks and (later) the MCP tools. Every value is a bound parameter; the
aggregation interval is checked against a fixed list before it reaches SQL (as a bound value
for ``date_trunc``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.videos import VIDEO_STATUSES, UnknownVideoError

INTERVALS = ("hour", "day", "week", "month")
MAX_DAYS = 3660


class InvalidQueryError(ValueError):
    pass


def list_videos(
    engine: Engine,
    *,
    status: str = "active",
    channel_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[pd.DataFrame, int]:
    """Tracked videos, newest first, and the total matching the filter (for paging)."""
    if status != "all" and status not in VIDEO_STATUSES:
        raise InvalidQueryError(
            f"invalid status {status!r}; valid: {', '.join((*VIDEO_STATUSES, 'all'))}"
        )
    if not 1 <= limit <= 10_000:
        raise InvalidQueryError("limit must be between 1 and 10000")
    if offset < 0:
        raise InvalidQueryError("offset must be >= 0")
    params = {"status": None if status == "all" else status, "channel": channel_id}
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(
                """
                SELECT video_id, title, channel_id, channel_title, published_at, status,
                       added_at, last_updated
                FROM ytmetrics.videos
                WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))
                  AND (CAST(:channel AS text) IS NULL OR channel_id = CAST(:channel AS text))
                ORDER BY added_at DESC, video_id
                LIMIT :limit OFFSET :offset
                """
            ),
            conn,
            params={**params, "limit": limit, "offset": offset},
        )
        total = conn.execute(
            text(
                """
                SELECT count(*) FROM ytmetrics.videos
                WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))
                  AND (CAST(:channel AS text) IS NULL OR channel_id = CAST(:channel AS text))
                """
            ),
            params,
        ).scalar_one()
    return frame, int(total)


def get_video(engine: Engine, video_id: str) -> dict:
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT video_id, title, channel_id, channel_title, published_at, status, added_at "
                    "FROM ytmetrics.videos WHERE video_id = :vid"
                ),
                {"vid": video_id},
            )
            .mappings()
            .first()
        )
    if row is None:
        raise UnknownVideoError(video_id)
    return dict(row)


@dataclass(frozen=True)
class VideoMetrics:
    video: dict
    series: pd.DataFrame
    growth: dict | None
    days: int
    interval: str


def _growth(first, last) -> dict:
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return {"absolute": None, "percent": None}
    absolute = int(last) - int(first)
    return {"absolute": absolute, "percent": (100.0 * absolute / first) if first else None}


def video_metrics(
    engine: Engine, video_id: str, days: int = 7, interval: str = "day"
) -> VideoMetrics:
    """The seed's metrics endpoint: per period the last observed counters (counters only grow,
    so the last is the period's value), the gain over the previous period, and the growth
    between the first and last period, absolute and percent. Hidden counts stay NULL."""
    if interval not in INTERVALS:
        raise InvalidQueryError(f"invalid interval {interval!r}; valid: {', '.join(INTERVALS)}")
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidQueryError(f"days must be an integer between 1 and {MAX_DAYS}")
    video = get_video(engine, video_id)
    sql = text(
        """
        WITH obs AS (
            SELECT date_trunc(:interval, snapshot_hour) AS period,
                   snapshot_hour, view_count, like_count, comment_count
            FROM ytmetrics.metric_snapshots
            WHERE video_id = :vid AND snapshot_hour > now() - make_interval(days => :days)
        ),
        per AS (
            SELECT period,
                   count(*) AS observations,
                   (array_agg(view_count ORDER BY snapshot_hour DESC))[1] AS views,
                   (array_agg(like_count ORDER BY snapshot_hour DESC))[1] AS likes,
                   (array_agg(comment_count ORDER BY snapshot_hour DESC))[1] AS comments
            FROM obs GROUP BY period
        )
        SELECT period, observations, views, likes, comments,
               views - lag(views) OVER (ORDER BY period) AS views_gained,
               likes - lag(likes) OVER (ORDER BY period) AS likes_gained,
               comments - lag(comments) OVER (ORDER BY period) AS comments_gained
        FROM per ORDER BY period
        """
    )
    with engine.connect() as conn:
        series = pd.read_sql_query(
            sql, conn, params={"interval": interval, "vid": video_id, "days": days}
        )
    for col in ("views", "likes", "comments", "views_gained", "likes_gained", "comments_gained"):
        series[col] = series[col].astype("Int64")
    growth = None
    if len(series) >= 2:
        first, last = series.iloc[0], series.iloc[-1]
        growth = {m: _growth(first[m], last[m]) for m in ("views", "likes", "comments")}
    return VideoMetrics(video=video, series=series, growth=growth, days=days, interval=interval)
