"""Growth of many videos at once, for the dashboard's list, comparison and channel pages.

- ``gained_24h``: views gained in the 24 h ending now, by the project's growth definition
  (``metric_series.GROWTH_DEFINITION``): the latest observation minus the last observation at or
  before the window's start (the first one in the window when there is none before it, looked
  for at most ``BASELINE_DAYS`` back). NULL when the video was not observed in the window, or
  only once (a first observation has no gain).
- ``views_per_hour``: the rate now: views gained between the video's two newest observations
  over the real hours between them (kept per video by the snapshot write, so it costs no
  history read); NULL unless the newest is at most ``RATE_FRESH_HOURS`` old.
- sparklines: each video's observed views over the last ``SPARK_DAYS`` days.
- the deployment's summary: active videos, observations in the last 24 h, missed hours,
  quota used today.

Every value is a bound parameter; ORDER BY expressions come from fixed strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import video_listing
from ytmetrics_dagster.warehouse.quota import Budget, quota_day, units_used

WINDOW_HOURS = 24
BASELINE_DAYS = 8
RATE_FRESH_HOURS = 26  # a daily video's newest observation is at most a day old
SPARK_DAYS = 7
GROWTH_SORTS = {"gained_24h": "gained_24h", "views_per_hour": "views_per_hour"}

_GROWTH_COLUMNS = """
    CASE WHEN st.last_observed_at > :start
         THEN st.last_views - coalesce(b.view_count, f.view_count) END AS gained_24h,
    CASE WHEN st.prev_observed_at IS NOT NULL AND st.last_observed_at > st.prev_observed_at
              AND st.last_observed_at > :now - make_interval(hours => :fresh)
         THEN (st.last_views - st.prev_views)
              / (extract(epoch FROM st.last_observed_at - st.prev_observed_at) / 3600.0)
    END AS views_per_hour
"""
# The two observations a 24 h gain is measured from (index lookups into a few day partitions).
_BASELINES = """
LEFT JOIN LATERAL (
    SELECT s.view_count FROM ytmetrics.metric_snapshots s
    WHERE s.video_key = st.video_key AND s.snapshot_hour <= :start
      AND s.snapshot_hour >= :start - make_interval(days => :baseline_days)
      AND s.snapshot_hour + make_interval(secs => s.observed_seconds) <= :start
    ORDER BY s.snapshot_hour DESC LIMIT 1
) b ON st.last_observed_at > :start
LEFT JOIN LATERAL (
    SELECT s.view_count FROM ytmetrics.metric_snapshots s
    WHERE s.video_key = st.video_key AND s.snapshot_hour >= :start - interval '1 hour'
      AND s.snapshot_hour + make_interval(secs => s.observed_seconds) > :start
      -- not the latest itself: a first observation has no gain (NULL), not a gain of 0
      AND s.snapshot_hour + make_interval(secs => s.observed_seconds) < st.last_observed_at
    ORDER BY s.snapshot_hour LIMIT 1
) f ON st.last_observed_at > :start AND b.view_count IS NULL
"""
_FOR_IDS = (
    "SELECT v.video_id,"
    + _GROWTH_COLUMNS
    + """
FROM ytmetrics.videos v
LEFT JOIN ytmetrics.video_observation_state st USING (video_key)
"""
    + _BASELINES
    + "WHERE v.video_id = ANY(CAST(:ids AS text[]))"
)


def _params(now: datetime) -> dict:
    return {
        "now": now,
        "start": now - timedelta(hours=WINDOW_HOURS),
        "fresh": RATE_FRESH_HOURS,
        "baseline_days": BASELINE_DAYS,
    }


def growth_of(engine: Engine, video_ids: list[str], now: datetime | None = None) -> pd.DataFrame:
    """``gained_24h`` and ``views_per_hour`` of the given videos (indexed by video_id)."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(_FOR_IDS), conn, params={**_params(now), "ids": list(video_ids)}
        )
    frame["gained_24h"] = frame["gained_24h"].astype("Int64")
    return frame.set_index("video_id")


# The list sorted by growth: the growth of every video matching the list's filter
# (video_listing._VIDEO_FILTER, the same bound parameters) is computed, then one page is taken.
_BY_GROWTH_HEAD = """
SELECT video_id FROM (
    SELECT v.video_id,"""
_FROM_STATE = """
    FROM ytmetrics.videos v
    LEFT JOIN ytmetrics.video_observation_state st USING (video_key)
"""
_BY_GROWTH = (
    _BY_GROWTH_HEAD + _GROWTH_COLUMNS + _FROM_STATE + _BASELINES + video_listing._VIDEO_FILTER
)
_BY_GROWTH_SORTED = {
    (sort, descending): _BY_GROWTH
    + f") g ORDER BY {expression} {'DESC' if descending else 'ASC'} NULLS LAST, video_id"
    " LIMIT :limit OFFSET :offset"
    for sort, expression in GROWTH_SORTS.items()
    for descending in (True, False)
}
_LIST_BY_IDS = video_listing._LIST_VIDEOS + "WHERE v.video_id = ANY(CAST(:ids AS text[]))) matched"


def search_by_growth(
    engine: Engine,
    *,
    search: str | None,
    status: str,
    channel_id: str | None,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, int]:
    """``video_listing.search_videos`` sorted by a growth column (NULLs last, then by id)."""
    now = now or datetime.now(UTC)
    params = {
        "status": None if status == "all" else status,
        "channel": channel_id,
        "pattern": video_listing._like_pattern(search) if search else None,
    }
    with engine.connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text(_BY_GROWTH_SORTED[sort, bool(descending)]),
                {**_params(now), **params, "limit": limit, "offset": offset},
            )
        ]
        total = conn.execute(text(video_listing._COUNT_VIDEOS), params).scalar_one()
        frame = pd.read_sql_query(text(_LIST_BY_IDS), conn, params={"ids": ids})
    order = {vid: i for i, vid in enumerate(ids)}
    frame = frame.sort_values("video_id", key=lambda c: c.map(order)).reset_index(drop=True)
    frame["latest_views"] = frame["latest_views"].astype("Int64")
    return frame, int(total)


def sparklines(
    engine: Engine, video_ids: list[str], now: datetime | None = None, days: int = SPARK_DAYS
) -> dict[str, list[tuple[datetime, int]]]:
    """Each video's observations (time, views) over the last ``days`` days, oldest first."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT v.video_id, s.snapshot_hour + make_interval(secs => s.observed_seconds),
                       s.view_count
                FROM ytmetrics.videos v
                JOIN ytmetrics.metric_snapshots s USING (video_key)
                WHERE v.video_id = ANY(CAST(:ids AS text[]))
                  AND s.snapshot_hour >= :start AND s.snapshot_hour <= :now
                ORDER BY v.video_id, s.snapshot_hour
                """
            ),
            {"ids": list(video_ids), "start": now - timedelta(days=days), "now": now},
        )
        out: dict[str, list[tuple[datetime, int]]] = {v: [] for v in video_ids}
        for vid, at, views in rows:
            out[vid].append((at, int(views)))
    return out


def summary(engine: Engine, now: datetime | None = None, budget: Budget | None = None) -> dict:
    """The deployment at a glance."""
    now = now or datetime.now(UTC)
    budget = budget or Budget()
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    """
                    SELECT
                      (SELECT count(*) FROM ytmetrics.videos WHERE status = 'active') AS active,
                      (SELECT count(*) FROM ytmetrics.videos) AS tracked,
                      (SELECT coalesce(sum(videos_written), 0) FROM ytmetrics.snapshot_batches
                       WHERE observed_at > :start AND observed_at <= :now) AS observations,
                      (SELECT count(*) FROM ytmetrics.missed_hours
                       WHERE snapshot_hour > :start) AS missed_24h,
                      (SELECT count(*) FROM ytmetrics.missed_hours) AS missed_total,
                      (SELECT max(snapshot_hour) FROM ytmetrics.snapshot_batches) AS last_hour
                    """
                ),
                {"now": now, "start": now - timedelta(hours=WINDOW_HOURS)},
            )
            .mappings()
            .one()
        )
    day = quota_day(now)
    return {
        "as_of": now,
        "active_videos": int(row["active"]),
        "tracked_videos": int(row["tracked"]),
        "observations_24h": int(row["observations"]),
        "missed_hours_24h": int(row["missed_24h"]),
        "missed_hours_total": int(row["missed_total"]),
        "last_snapshot_hour": row["last_hour"],
        "quota_day_pacific": str(day),
        "quota_used_today": units_used(engine, day),
        "quota_budget": budget.daily_units,
    }


# Observations farther apart than this are not joined by a line on a chart.
GAP_MINUTES = 90

_SERIES = """
SELECT v.video_id, o.observed_at, s.view_count AS views,
       extract(epoch FROM o.observed_at - v.published_at) / 3600.0 AS age_hours,
       g.views_per_hour, g.hours_elapsed
FROM ytmetrics.videos v
JOIN ytmetrics.metric_snapshots s USING (video_key)
CROSS JOIN LATERAL (
    SELECT s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at
) o
LEFT JOIN ytmetrics.video_growth_hourly g
       ON g.video_key = s.video_key AND g.snapshot_hour = s.snapshot_hour
WHERE v.video_id = ANY(CAST(:ids AS text[]))
"""
_BY_AGE = (
    _SERIES
    + """
  AND v.published_at IS NOT NULL
  AND s.snapshot_hour >= v.published_at - interval '1 hour'
  AND s.snapshot_hour <= v.published_at + make_interval(hours => :max_hours)
ORDER BY v.video_id, s.snapshot_hour
"""
)
_BETWEEN = (
    _SERIES
    + """
  AND s.snapshot_hour >= :start - interval '1 hour' AND s.snapshot_hour <= :end
  AND s.snapshot_hour + make_interval(secs => s.observed_seconds) >= :start
ORDER BY v.video_id, s.snapshot_hour
"""
)


def _grouped(result) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in result.mappings():
        out.setdefault(r["video_id"], []).append(
            {
                "observed_at": r["observed_at"],
                "age_hours": float(r["age_hours"]) if r["age_hours"] is not None else None,
                "views": int(r["views"]),
                "views_per_hour": float(r["views_per_hour"])
                if r["views_per_hour"] is not None
                else None,
                "hours_elapsed": float(r["hours_elapsed"])
                if r["hours_elapsed"] is not None
                else None,
            }
        )
    return out


def series_by_age(engine: Engine, video_ids: list[str], max_hours: int) -> dict[str, list[dict]]:
    """Each video's observations from publishing to ``max_hours`` of age (with views/hour from
    the hourly growth table)."""
    with engine.connect() as conn:
        return _grouped(
            conn.execute(text(_BY_AGE), {"ids": list(video_ids), "max_hours": max_hours})
        )


def series_between(
    engine: Engine, video_ids: list[str], start: datetime, end: datetime
) -> dict[str, list[dict]]:
    """Each video's observations between ``start`` and ``end`` (calendar time)."""
    with engine.connect() as conn:
        return _grouped(
            conn.execute(text(_BETWEEN), {"ids": list(video_ids), "start": start, "end": end})
        )
