"""Read API over the warehouse, returning pandas DataFrames.

Used by the CLI, notebooks and (later) the MCP tools. Every value is a bound parameter; the
aggregation interval is checked against a fixed list before it reaches SQL (as a bound value
for ``date_trunc``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import analysis, cohorts
from ytmetrics_dagster.warehouse.videos import VIDEO_STATUSES, UnknownVideoError

INTERVALS = ("hour", "day", "week", "month")
MAX_DAYS = 3660
# Bounds of the other parameters; the CLI and the MCP server validate against these same names.
MAX_LIST_LIMIT = 10_000
MAX_OFFSET = 1_000_000_000
MAX_TOP_HOURS = 24 * 366
MAX_TOP_LIMIT = 1000


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
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidQueryError(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidQueryError(f"offset must be an integer from 0 to {MAX_OFFSET}")
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


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


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
    return value is None or pd.isna(value)


def _growth(first, last) -> dict:
    if _missing(first) or _missing(last):
        return {"absolute": None, "percent": None}
    absolute = int(last) - int(first)
    return {"absolute": absolute, "percent": (100.0 * absolute / first) if first else None}


def video_metrics(
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
    add up to it). Hidden counts stay NULL."""
    if interval not in INTERVALS:
        raise InvalidQueryError(f"invalid interval {interval!r}; valid: {', '.join(INTERVALS)}")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise InvalidQueryError(f"days must be an integer from 1 to {MAX_DAYS}")
    video = get_video(engine, video_id)
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    params = {"interval": interval, "vid": video_id, "start": start, "end": end}
    with engine.connect() as conn:
        rows = pd.read_sql_query(text(_METRICS_SQL), conn, params=params)
    for col in ("views", "likes", "comments", "views_gained", "likes_gained", "comments_gained"):
        rows[col] = rows[col].astype("Int64")
    buckets = rows["kind"] == "bucket"
    ends = {
        r.kind: r
        for r in rows[~buckets]
        .rename(columns={"views": "view_count", "likes": "like_count", "comments": "comment_count"})
        .itertuples(index=False)
    }
    series = rows[buckets].drop(columns=["kind", "observed_at"]).reset_index(drop=True)
    series["observations"] = series["observations"].astype("int64")
    growth = period_growth(ends)
    return VideoMetrics(
        video=video,
        series=series,
        growth=growth,
        days=days,
        interval=interval,
        start=start,
        end=end,
    )


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def launch_curve(engine: Engine, video_id: str, now: datetime | None = None) -> pd.DataFrame:
    """The video's launch curve computed now (not waiting for the hourly analysis job)."""
    return analysis.launch_curve_frame(engine, video_id, now or datetime.now(UTC))


def channel_median_curve(engine: Engine, channel_id: str | None) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                "SELECT age_label, age_hours, videos, median_views, median_likes, median_comments "
                "FROM ytmetrics.channel_launch_curves WHERE channel_id = :c ORDER BY age_hours"
            ),
            conn,
            params={"c": channel_id},
        )


def milestone(engine: Engine, video_id: str, now: datetime | None = None) -> dict | None:
    row = analysis.milestone_row(engine, video_id, now or datetime.now(UTC))
    if row is None:
        return None
    out = {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in row.items()
        if k != "video_id"
    }
    out["window_hours_configured"] = analysis.TREND_WINDOW_HOURS
    out["eta_horizon_hours"] = analysis.ETA_HORIZON_HOURS
    # growing, yet no ETA: the milestone lies beyond the horizon (never shown as a date)
    out["eta_beyond_horizon"] = bool((row["views_per_hour"] or 0) > 0 and row["eta_at"] is None)
    return out


def analyze_video_performance(
    engine: Engine,
    video_id: str,
    days: int = 7,
    interval: str = "hour",
    now: datetime | None = None,
) -> dict:
    """Everything known about one video's performance, from real observations only: the
    series, growth, velocity, engagement, launch curve against the channel median, and the
    next milestone's ETA (method and window stated). JSON-serialisable."""
    metrics = video_metrics(engine, video_id, days=days, interval=interval, now=now)
    with engine.connect() as conn:
        latest = (
            conn.execute(
                text(
                    """
                SELECT observed_at, view_count, like_count, comment_count, source
                FROM ytmetrics.snapshots WHERE video_id = :v
                ORDER BY snapshot_hour DESC LIMIT 1
                """
                ),
                {"v": video_id},
            )
            .mappings()
            .first()
        )
        sources = [
            r[0]
            for r in conn.execute(
                text("SELECT DISTINCT source FROM ytmetrics.snapshots WHERE video_id = :v"),
                {"v": video_id},
            )
        ]
    curve = launch_curve(engine, video_id)
    cohort = cohorts.cohort_for_video(engine, video_id, metrics.video.get("channel_id"), curve)
    median = cohort.median.assign(videos=cohort.videos)
    position = []
    if len(curve) and len(median):
        joined = curve.merge(median, on=["age_label", "age_hours"], how="inner")
        joined = joined[joined.views.notna() & joined.median_views.notna()]
        position = [
            {
                "age": r.age_label,
                "views": r.views,
                "channel_median_views": r.median_views,
                "ratio_to_median": (r.views / r.median_views) if r.median_views else None,
                "channel_videos": int(r.videos),
            }
            for r in joined.itertuples()
        ]
    engagement = None
    if (
        latest
        and latest["view_count"]
        and (latest["like_count"] is not None or latest["comment_count"] is not None)
    ):
        engagement = ((latest["like_count"] or 0) + (latest["comment_count"] or 0)) / latest[
            "view_count"
        ]
    ms = milestone(engine, video_id)
    video = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in metrics.video.items()}
    return {
        "video": video,
        "period": {
            "days": days,
            "interval": interval,
            "start": _iso(metrics.start),
            "end": _iso(metrics.end),
            "growth_definition": GROWTH_DEFINITION,
        },
        "data_sources": sources,
        "observations": int(metrics.series.observations.sum()) if len(metrics.series) else 0,
        "series": _records(metrics.series),
        "growth": metrics.growth,
        "latest": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in latest.items()}
        if latest
        else None,
        "velocity": {
            "views_per_hour_recent": ms["views_per_hour"] if ms else None,
            "window": f"{ms['window_start']} .. {ms['observed_at']}"
            if ms and ms["window_start"]
            else None,
        },
        "engagement_rate": engagement,
        "launch_curve": _records(curve),
        "vs_channel_median": position,
        "milestone": ms,
    }


# A growth row carries the views gained over its real interval (previous observation ..
# this observation), which is an hour for an hourly video and a day for a daily one. Within
# a window, a row counts in proportion to the overlap of its interval with the window, i.e.
# the views are assumed to have come at an even rate between the two observations.
TOP_GROWERS_METHOD = (
    "views gained within the window: each gain between two consecutive observations counts "
    "in proportion to the overlap of its interval with the window (an even rate between "
    "observations is assumed); views_per_hour = views_gained / covered_hours, where "
    "covered_hours is the part of the window lying between the video's observations"
)

# Rows whose interval (prev_observed_at, observed_at] overlaps [start, end): the rows observed
# up to ~9 h after their hour (observed_seconds is a smallint) with snapshot_hour < end, plus,
# per video observed after the window, its first row after it when that row's interval starts
# before the window ends (a daily video's interval straddles the window's end).
_OVERLAP_ROWS = """
SELECT g.video_key, g.prev_observed_at, g.observed_at, g.view_count, g.views_gained
FROM ytmetrics.video_growth_hourly g
WHERE g.snapshot_hour >= CAST(:start AS timestamptz) - interval '32767 seconds'
  AND g.snapshot_hour < :end
  AND g.observed_at > :start AND g.prev_observed_at < :end AND g.views_gained IS NOT NULL
UNION ALL
SELECT n.video_key, n.prev_observed_at, n.observed_at, n.view_count, n.views_gained
FROM ytmetrics.video_observation_state st
CROSS JOIN LATERAL (
    SELECT g.video_key, g.prev_observed_at, g.observed_at, g.view_count, g.views_gained
    FROM ytmetrics.video_growth_hourly g
    WHERE g.video_key = st.video_key AND g.snapshot_hour >= :end
    ORDER BY g.snapshot_hour LIMIT 1
) n
WHERE st.last_hour >= :end AND n.prev_observed_at < :end AND n.views_gained IS NOT NULL
"""

_TOP_GROWERS_SQL = f"""
WITH r AS ({_OVERLAP_ROWS}),
pieces AS (
    SELECT video_key, views_gained,
           extract(epoch FROM least(observed_at, :end) - greatest(prev_observed_at, :start))
               AS overlap_s,
           extract(epoch FROM observed_at - prev_observed_at) AS length_s,
           -- the newest count known at the window's end: this observation, or the previous
           -- one when this interval runs past the end
           CASE WHEN observed_at <= :end THEN observed_at ELSE prev_observed_at END AS known_at,
           CASE WHEN observed_at <= :end THEN view_count ELSE view_count - views_gained END
               AS known_views
    FROM r
    WHERE observed_at > prev_observed_at
),
per_video AS (
    SELECT video_key,
           sum(views_gained * overlap_s / length_s) AS gained,
           sum(overlap_s) / 3600.0 AS covered_hours,
           bool_or(overlap_s < length_s) AS prorated,
           (array_agg(known_views ORDER BY known_at DESC))[1] AS views,
           max(known_at) AS views_observed_at
    FROM pieces
    GROUP BY video_key
)
SELECT v.video_id, v.title, v.channel_title,
       CAST(round(CAST(p.gained AS numeric)) AS bigint) AS views_gained,
       round(CAST(p.gained / nullif(p.covered_hours, 0) AS numeric), 1) AS views_per_hour,
       p.views, p.views_observed_at,
       round(CAST(p.covered_hours AS numeric), 2) AS covered_hours,
       p.prorated
FROM per_video p
JOIN ytmetrics.videos v USING (video_key)
WHERE CAST(:channel AS text) IS NULL OR v.channel_id = CAST(:channel AS text)
ORDER BY p.gained DESC, v.video_id
LIMIT :limit
"""  # noqa: S608


def top_growers_between(
    engine: Engine,
    start: datetime,
    end: datetime,
    limit: int = 10,
    channel_id: str | None = None,
) -> pd.DataFrame:
    """Videos ranked by views gained within [start, end) (TOP_GROWERS_METHOD): video_id,
    title, channel_title, views_gained, views_per_hour, views (the newest count known at the
    window's end) and views_observed_at, covered_hours, prorated (true when part of a gain
    was apportioned because its interval crosses a window edge). ``attrs['method']`` states
    the method."""
    if end <= start:
        raise InvalidQueryError("the window must end after it starts")
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(_TOP_GROWERS_SQL),
            conn,
            params={"start": start, "end": end, "limit": limit, "channel": channel_id},
        )
    frame["views_per_hour"] = frame["views_per_hour"].astype(float)
    frame["covered_hours"] = frame["covered_hours"].astype(float)
    frame.attrs["method"] = TOP_GROWERS_METHOD
    frame.attrs["window"] = (start, end)
    return frame


def top_growing(
    engine: Engine,
    hours: int = 24,
    limit: int = 10,
    channel_id: str | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Videos ranked by views gained within the last ``hours`` hours (see
    ``top_growers_between``)."""
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_TOP_HOURS:
        raise InvalidQueryError(f"hours must be an integer from 1 to {MAX_TOP_HOURS}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_TOP_LIMIT:
        raise InvalidQueryError(f"limit must be an integer from 1 to {MAX_TOP_LIMIT}")
    end = now or datetime.now(UTC)
    return top_growers_between(
        engine, end - timedelta(hours=hours), end, limit=limit, channel_id=channel_id
    )


def recently_added(engine: Engine, limit: int = 10) -> tuple[pd.DataFrame, int]:
    """The most recently added videos, and how many were added in the last 24 hours."""
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(
                "SELECT video_id, title, channel_title, published_at, status, added_at "
                "FROM ytmetrics.videos ORDER BY added_at DESC, video_id LIMIT :n"
            ),
            conn,
            params={"n": limit},
        )
        last_day = conn.execute(
            text(
                "SELECT count(*) FROM ytmetrics.videos WHERE added_at > now() - interval '24 hours'"
            )
        ).scalar_one()
    return frame, int(last_day)


def markdown(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False) if len(frame) else "_none_"


def video_growth_series(engine: Engine, video_id: str, days: int = 7) -> pd.DataFrame:
    """A video's hourly growth rows (real observations; gaps stay gaps)."""
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


def channel_recent_launch_curves(engine: Engine, channel_id: str, videos: int = 10) -> pd.DataFrame:
    """Launch curves of the channel's most recently published tracked videos."""
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                SELECT c.video_id, v.title, v.published_at, c.age_label, c.age_hours, c.views, c.interpolated
                FROM ytmetrics.video_launch_curves c JOIN ytmetrics.videos v USING (video_id)
                WHERE c.channel_id = :c AND c.video_id IN (
                    SELECT video_id FROM ytmetrics.videos WHERE channel_id = :c
                    ORDER BY published_at DESC NULLS LAST LIMIT :n)
                ORDER BY v.published_at DESC, c.age_hours
                """
            ),
            conn,
            params={"c": channel_id, "n": videos},
        )


# --- Dashboard read functions (ytmetrics_dagster.dashboard) -----------------------------------

VIDEO_SORTS = {
    # sort key -> ORDER BY expression; only these fixed strings ever reach the SQL text
    "added": "added_at",
    "published": "published_at",
    "title": "lower(title)",
    "channel": "lower(channel_title)",
    "views": "latest_views",
    "observed": "last_observed_at",
}


# Which videos the dashboard lists: every filter is a bound parameter, NULL for "any".
_VIDEO_FILTER = """
WHERE (CAST(:status AS text) IS NULL OR v.status = CAST(:status AS text))
  AND (CAST(:channel AS text) IS NULL OR v.channel_id = CAST(:channel AS text))
  AND (CAST(:pattern AS text) IS NULL
       OR v.title ILIKE CAST(:pattern AS text) OR v.video_id ILIKE CAST(:pattern AS text)
       OR v.channel_title ILIKE CAST(:pattern AS text)
       OR v.channel_id ILIKE CAST(:pattern AS text))
"""
_COUNT_VIDEOS = "SELECT count(*) FROM ytmetrics.videos v" + _VIDEO_FILTER  # noqa: S608 - constants
_LIST_VIDEOS = """
SELECT * FROM (
    SELECT v.video_id, v.title, v.channel_id, v.channel_title, v.published_at,
           v.status, v.source, v.added_at, st.last_observed_at,
           st.last_views AS latest_views, b.source AS latest_source
    FROM ytmetrics.videos v
    -- the latest observation is kept per video by the snapshot write
    LEFT JOIN ytmetrics.video_observation_state st USING (video_key)
    LEFT JOIN LATERAL (
        SELECT min(source) AS source FROM ytmetrics.snapshot_batches b
        WHERE b.snapshot_hour = st.last_hour
    ) b ON true
"""
# One statement per sort key and direction, composed once from constants: an ORDER BY cannot
# be a bound parameter, and a request only ever selects one of these by key.
_LIST_VIDEOS_SORTED = {
    (sort, descending): (
        _LIST_VIDEOS
        + _VIDEO_FILTER
        + f") matched ORDER BY {expression} {'DESC' if descending else 'ASC'} NULLS LAST,"
        " video_id LIMIT :limit OFFSET :offset"
    )
    for sort, expression in VIDEO_SORTS.items()
    for descending in (True, False)
}


def _like_pattern(search: str) -> str:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_videos(
    engine: Engine,
    *,
    search: str | None = None,
    status: str = "active",
    channel_id: str | None = None,
    sort: str = "added",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> tuple[pd.DataFrame, int]:
    """Tracked videos matching a case-insensitive substring of title, id, channel title or
    channel id, with each video's latest observation (views, when, source), sorted by one of
    ``VIDEO_SORTS`` (NULLs last, then by id), and the total matching (for paging)."""
    if status != "all" and status not in VIDEO_STATUSES:
        raise InvalidQueryError(
            f"invalid status {status!r}; valid: {', '.join((*VIDEO_STATUSES, 'all'))}"
        )
    if sort not in VIDEO_SORTS:
        raise InvalidQueryError(f"invalid sort {sort!r}; valid: {', '.join(VIDEO_SORTS)}")
    if not 1 <= limit <= 1000:
        raise InvalidQueryError("limit must be between 1 and 1000")
    if offset < 0:
        raise InvalidQueryError("offset must be >= 0")
    params = {
        "status": None if status == "all" else status,
        "channel": channel_id,
        "pattern": _like_pattern(search) if search else None,
    }
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(_LIST_VIDEOS_SORTED[sort, bool(descending)]),
            conn,
            params={**params, "limit": limit, "offset": offset},
        )
        total = conn.execute(text(_COUNT_VIDEOS), params).scalar_one()
    frame["latest_views"] = frame["latest_views"].astype("Int64")
    return frame, int(total)


def video_channels(engine: Engine) -> pd.DataFrame:
    """Channels of the tracked videos (any status) with how many videos each, by title."""
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                SELECT channel_id, max(channel_title) AS channel_title, count(*) AS videos
                FROM ytmetrics.videos WHERE channel_id IS NOT NULL
                GROUP BY channel_id ORDER BY lower(max(channel_title)), channel_id
                """
            ),
            conn,
        )


def video_record(engine: Engine, video_id: str) -> dict:
    """Everything ``videos`` knows about one video, its ``source`` included."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    """
                    SELECT video_id, title, channel_id, channel_title, published_at,
                           duration_seconds, status, source, added_at, last_updated,
                           unavailable_since, removed_at
                    FROM ytmetrics.videos WHERE video_id = :v
                    """
                ),
                {"v": video_id},
            )
            .mappings()
            .first()
        )
    if row is None:
        raise UnknownVideoError(video_id)
    return dict(row)


def video_observations(engine: Engine, video_id: str, days: int = 14) -> pd.DataFrame:
    """A video's real observations over the ``days`` ending at its latest one (not at now, so
    a video no longer observed still shows its history), each with its hourly-growth row:
    gains and views/hour since the previous real observation (``prev_observed_at``, however
    long ago). ``growth_computed`` is false where the growth table has no row yet. Nothing is
    interpolated; an unknown video gives an empty frame."""
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidQueryError(f"days must be an integer between 1 and {MAX_DAYS}")
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


def observed_channels(engine: Engine, limit: int = 10) -> pd.DataFrame:
    """Channels ranked by how many of their active videos were observed in the warehouse's
    latest week, each with its most observed video of that week: where a notebook starts when
    nobody named a video (a channel with several videos, so that its launch curves have a
    median worth comparing to). Reads one week of day partitions, whatever the history's
    length."""
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                WITH per_video AS (
                    SELECT v.channel_id, v.channel_title, v.video_id, count(*) AS observations
                    FROM ytmetrics.metric_snapshots s JOIN ytmetrics.videos v USING (video_key)
                    WHERE v.status = 'active' AND v.channel_id IS NOT NULL
                      AND s.snapshot_hour > (SELECT max(snapshot_hour) FROM ytmetrics.snapshot_batches)
                                            - interval '7 days'
                    GROUP BY v.channel_id, v.channel_title, v.video_id
                )
                SELECT channel_id, channel_title, count(*) AS videos,
                       sum(observations) AS observations,
                       (array_agg(video_id ORDER BY observations DESC, video_id))[1]
                           AS most_observed_video_id
                FROM per_video
                GROUP BY channel_id, channel_title
                ORDER BY videos DESC, observations DESC, channel_id
                LIMIT :limit
                """
            ),
            conn,
            params={"limit": limit},
        )
