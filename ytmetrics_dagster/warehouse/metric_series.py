"""A video's metrics over time: aggregated by hour/day/week/month with growth, and its observations.

Read API over the warehouse; every value is a bound parameter."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.frames import Rows
from ytmetrics_dagster.warehouse.read_limits import INTERVALS, MAX_DAYS, InvalidQueryError, _iso
from ytmetrics_dagster.warehouse.video_listing import get_video

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class VideoMetrics:
    video: dict
    series: pd.DataFrame | Rows  # Rows from ``video_metric_rows``
    growth: dict | None
    days: int
    interval: str
    start: datetime | None = None
    end: datetime | None = None


# Growth over a period, whatever the bucket size (buckets only group): the last observation
# in the period minus the last observation before it. A video first observed inside the
# period has nothing before it; its growth is then counted from its first observation.
GROWTH_DEFINITION = (
    "last observation in the period minus the last observation before the period "
    "(the first observation in the period when there is none before it)"
)


BASELINE_BEFORE = "last observation before the period"


BASELINE_FIRST = "first observation in the period (none before it)"


_METRICS_SQL = """
WITH v AS (
    SELECT video_key FROM ytmetrics.videos WHERE video_id = :vid
),
obs AS MATERIALIZED (
    SELECT s.snapshot_hour, s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at,
           s.view_count, s.like_count, s.comment_count
    FROM ytmetrics.metric_snapshots s JOIN v USING (video_key)
    WHERE s.snapshot_hour > :start AND s.snapshot_hour <= :end
),
base AS MATERIALIZED (
    SELECT s.snapshot_hour, s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at,
           s.view_count, s.like_count, s.comment_count
    FROM ytmetrics.metric_snapshots s JOIN v USING (video_key)
    WHERE s.snapshot_hour <= :start
    ORDER BY s.snapshot_hour DESC LIMIT 1
),
per AS (
    SELECT date_trunc(:interval, snapshot_hour, 'UTC') AS period,
           count(*) AS observations,
           (array_agg(view_count ORDER BY snapshot_hour DESC))[1] AS views,
           (array_agg(like_count ORDER BY snapshot_hour DESC))[1] AS likes,
           (array_agg(comment_count ORDER BY snapshot_hour DESC))[1] AS comments,
           (array_agg(view_count ORDER BY snapshot_hour))[1] AS first_views,
           (array_agg(like_count ORDER BY snapshot_hour))[1] AS first_likes,
           (array_agg(comment_count ORDER BY snapshot_hour))[1] AS first_comments
    FROM obs GROUP BY 1
),
chained AS (
    -- each bucket starts where the previous one ended; the first one at the observation
    -- before the period, or else at its own first observation
    SELECT p.*,
           row_number() OVER w = 1 AS is_first,
           CASE WHEN row_number() OVER w = 1
                THEN coalesce((SELECT view_count FROM base), p.first_views)
                ELSE lag(p.views) OVER w END AS views_from,
           CASE WHEN row_number() OVER w = 1
                THEN CASE WHEN EXISTS (SELECT 1 FROM base) THEN (SELECT like_count FROM base)
                          ELSE p.first_likes END
                ELSE lag(p.likes) OVER w END AS likes_from,
           CASE WHEN row_number() OVER w = 1
                THEN CASE WHEN EXISTS (SELECT 1 FROM base) THEN (SELECT comment_count FROM base)
                          ELSE p.first_comments END
                ELSE lag(p.comments) OVER w END AS comments_from
    FROM per p
    WINDOW w AS (ORDER BY p.period)
)
SELECT 'bucket' AS kind, period, observations, views, likes, comments,
       -- the video's very first observation alone: nothing was gained in no time
       CASE WHEN is_first AND observations = 1 AND NOT EXISTS (SELECT 1 FROM base) THEN NULL
            ELSE views - views_from END AS views_gained,
       CASE WHEN is_first AND observations = 1 AND NOT EXISTS (SELECT 1 FROM base) THEN NULL
            ELSE likes - likes_from END AS likes_gained,
       CASE WHEN is_first AND observations = 1 AND NOT EXISTS (SELECT 1 FROM base) THEN NULL
            ELSE comments - comments_from END AS comments_gained,
       CAST(NULL AS timestamptz) AS observed_at
FROM chained
-- the ends of the period (GROWTH_DEFINITION), from the same rows: the history's day
-- partitions are planned and read once
UNION ALL
SELECT 'before', NULL, NULL, view_count, like_count, comment_count, NULL, NULL, NULL, observed_at
FROM base
UNION ALL
(SELECT 'first', NULL, NULL, view_count, like_count, comment_count, NULL, NULL, NULL, observed_at
 FROM obs ORDER BY snapshot_hour LIMIT 1)
UNION ALL
(SELECT 'last', NULL, NULL, view_count, like_count, comment_count, NULL, NULL, NULL, observed_at
 FROM obs ORDER BY snapshot_hour DESC LIMIT 1)
ORDER BY kind, period
"""


_METRIC_COLUMNS = {"views": "view_count", "likes": "like_count", "comments": "comment_count"}


def period_growth(ends: dict) -> dict | None:
    """Growth of each counter over a period by GROWTH_DEFINITION, from the period's ends
    (``before``, ``first``, ``last``: rows with observed_at and the three counters), with the
    two observations it is measured between; None when the period holds no observation."""
    if "last" not in ends:
        return None
    last = ends["last"]
    base = ends.get("before")
    baseline = BASELINE_BEFORE
    if base is None:
        base, baseline = ends["first"], BASELINE_FIRST
    if base.observed_at == last.observed_at:
        return None  # one observation: nothing to measure growth over
    growth = {}
    for metric, column in _METRIC_COLUMNS.items():
        first, final = getattr(base, column), getattr(last, column)
        entry = _growth(first, final)
        entry.update(
            {
                "from": None if _missing(first) else int(first),
                "to": None if _missing(final) else int(final),
                "from_observed_at": _iso(base.observed_at),
                "to_observed_at": _iso(last.observed_at),
                "baseline": baseline,
            }
        )
        growth[metric] = entry
    return growth


def _missing(value) -> bool:
    if value is None or isinstance(value, str):
        return value is None
    try:
        return math.isnan(value)
    except TypeError:
        return type(value).__name__ in ("NAType", "NaTType")


def _growth(first, last) -> dict:
    if _missing(first) or _missing(last):
        return {"absolute": None, "percent": None}
    absolute = int(last) - int(first)
    return {"absolute": absolute, "percent": (100.0 * absolute / first) if first else None}


_SERIES_COLUMNS = (
    "period",
    "observations",
    "views",
    "likes",
    "comments",
    "views_gained",
    "likes_gained",
    "comments_gained",
)
_ENDS_COLUMNS = {"views": "view_count", "likes": "like_count", "comments": "comment_count"}


def video_metric_rows(
    engine: Engine,
    video_id: str,
    days: int = 7,
    interval: str = "day",
    now: datetime | None = None,
) -> VideoMetrics:
    """A video's observations over the last ``days`` days grouped by ``interval``: per bucket
    the last observed counters (counters only grow, so the last is the bucket's value) and
    the gain since the last observation before the bucket; and the growth over the whole
    period by GROWTH_DEFINITION, which does not depend on the bucket size (the buckets' gains
    add up to it). Hidden counts stay NULL. The series as ``Rows`` (``video_metrics``: the
    same as a DataFrame)."""
    if interval not in INTERVALS:
        raise InvalidQueryError(f"invalid interval {interval!r}; valid: {', '.join(INTERVALS)}")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise InvalidQueryError(f"days must be an integer from 1 to {MAX_DAYS}")
    video = get_video(engine, video_id)
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    params = {"interval": interval, "vid": video_id, "start": start, "end": end}
    with engine.connect() as conn:
        rows = conn.execute(text(_METRICS_SQL), params).mappings().all()
    series = Rows(
        ({c: r[c] for c in _SERIES_COLUMNS} for r in rows if r["kind"] == "bucket"),
        _SERIES_COLUMNS,
    )
    ends = {
        r["kind"]: SimpleNamespace(
            observed_at=r["observed_at"], **{_ENDS_COLUMNS[k]: r[k] for k in _ENDS_COLUMNS}
        )
        for r in rows
        if r["kind"] != "bucket"
    }
    return VideoMetrics(
        video=video,
        series=series,
        growth=period_growth(ends),
        days=days,
        interval=interval,
        start=start,
        end=end,
    )


def video_metrics(
    engine: Engine,
    video_id: str,
    days: int = 7,
    interval: str = "day",
    now: datetime | None = None,
) -> VideoMetrics:
    """``video_metric_rows`` with the series as a DataFrame (counters nullable integers)."""
    result = video_metric_rows(engine, video_id, days=days, interval=interval, now=now)
    series = result.series.frame()
    for col in _SERIES_COLUMNS[2:]:
        series[col] = series[col].astype("Int64")
    series["observations"] = series["observations"].astype("int64")
    return replace(result, series=series)


def video_growth_series(engine: Engine, video_id: str, days: int = 7) -> pd.DataFrame:
    """A video's hourly growth rows (real observations; gaps stay gaps)."""
    import pandas as pd

    get_video(engine, video_id)
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                SELECT snapshot_hour, observed_at, view_count, views_gained, hours_elapsed, views_per_hour
                FROM ytmetrics.video_growth_hourly
                WHERE video_key = (SELECT video_key FROM ytmetrics.videos WHERE video_id = :v)
                  AND snapshot_hour > now() - make_interval(days => :days)
                ORDER BY snapshot_hour
                """
            ),
            conn,
            params={"v": video_id, "days": days},
        )


def video_observations(engine: Engine, video_id: str, days: int = 14) -> pd.DataFrame:
    """A video's real observations over the ``days`` ending at its latest one (not at now, so
    a video no longer observed still shows its history), each with its hourly-growth row:
    gains and views/hour since the previous real observation (``prev_observed_at``, however
    long ago). ``growth_computed`` is false where the growth table has no row yet. Nothing is
    interpolated; an unknown video gives an empty frame."""
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidQueryError(f"days must be an integer between 1 and {MAX_DAYS}")
    import pandas as pd

    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(
                """
                WITH last AS (
                    SELECT v.video_key, st.last_hour AS hour
                    FROM ytmetrics.videos v
                    JOIN ytmetrics.video_observation_state st USING (video_key)
                    WHERE v.video_id = :v
                )
                SELECT s.snapshot_hour,
                       s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at,
                       s.view_count, s.like_count, s.comment_count, b.source,
                       g.video_key IS NOT NULL AS growth_computed,
                       g.prev_observed_at, g.hours_elapsed, g.views_gained, g.views_per_hour
                FROM last
                JOIN ytmetrics.metric_snapshots s
                  ON s.video_key = last.video_key
                 AND s.snapshot_hour >= last.hour - make_interval(days => :days)
                LEFT JOIN ytmetrics.video_growth_hourly g
                       ON g.video_key = s.video_key AND g.snapshot_hour = s.snapshot_hour
                LEFT JOIN LATERAL (
                    SELECT min(source) AS source FROM ytmetrics.snapshot_batches sb
                    WHERE sb.snapshot_hour = s.snapshot_hour
                ) b ON true
                ORDER BY s.snapshot_hour
                """
            ),
            conn,
            params={"v": video_id, "days": days},
        )
    for col in ("view_count", "like_count", "comment_count", "views_gained"):
        frame[col] = frame[col].astype("Int64")
    return frame
