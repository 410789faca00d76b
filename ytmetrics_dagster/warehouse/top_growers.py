"""The top growers over a window of hours, overlap-weighted.

Read API over the warehouse; every value is a bound parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.frames import Rows
from ytmetrics_dagster.warehouse.read_limits import MAX_TOP_HOURS, MAX_TOP_LIMIT, InvalidQueryError

if TYPE_CHECKING:
    import pandas as pd

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


def top_rows_between(
    engine: Engine,
    start: datetime,
    end: datetime,
    limit: int = 10,
    channel_id: str | None = None,
) -> Rows:
    """``top_growers_between``'s rows (numeric columns as the driver hands them)."""
    if end <= start:
        raise InvalidQueryError("the window must end after it starts")
    with engine.connect() as conn:
        return Rows.of(
            conn.execute(
                text(_TOP_GROWERS_SQL),
                {"start": start, "end": end, "limit": limit, "channel": channel_id},
            )
        )


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
    frame = top_rows_between(engine, start, end, limit=limit, channel_id=channel_id).frame()
    frame["views_per_hour"] = frame["views_per_hour"].astype(float)
    frame["covered_hours"] = frame["covered_hours"].astype(float)
    frame.attrs["method"] = TOP_GROWERS_METHOD
    frame.attrs["window"] = (start, end)
    return frame


def _last_hours(hours: int, limit: int, now: datetime | None) -> tuple[datetime, datetime]:
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_TOP_HOURS:
        raise InvalidQueryError(f"hours must be an integer from 1 to {MAX_TOP_HOURS}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_TOP_LIMIT:
        raise InvalidQueryError(f"limit must be an integer from 1 to {MAX_TOP_LIMIT}")
    end = now or datetime.now(UTC)
    return end - timedelta(hours=hours), end


def top_growing_rows(
    engine: Engine,
    hours: int = 24,
    limit: int = 10,
    channel_id: str | None = None,
    now: datetime | None = None,
) -> Rows:
    """``top_growing``'s rows (the CLI's table and CSV; the method is TOP_GROWERS_METHOD)."""
    start, end = _last_hours(hours, limit, now)
    return top_rows_between(engine, start, end, limit=limit, channel_id=channel_id)


def top_growing(
    engine: Engine,
    hours: int = 24,
    limit: int = 10,
    channel_id: str | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Videos ranked by views gained within the last ``hours`` hours (see
    ``top_growers_between``)."""
    start, end = _last_hours(hours, limit, now)
    return top_growers_between(engine, start, end, limit=limit, channel_id=channel_id)
