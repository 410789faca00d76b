"""The comparison page: up to ``MAX_VIDEOS`` videos overlaid by age since publishing (views and
views/hour) and by calendar time (views), chosen by search. Built from one dict, which
``/api/compare`` returns as JSON, so the charts draw exactly the JSON's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import Engine

from ytmetrics_dagster.surfaces import results
from ytmetrics_dagster.surfaces.dashboard import charts
from ytmetrics_dagster.surfaces.dashboard.charts import Point, Series, epoch, utc_label
from ytmetrics_dagster.surfaces.dashboard.views import _is_simulated, py, rows
from ytmetrics_dagster.surfaces.inputs import AGE_DAYS, COMPARE_VIDEOS
from ytmetrics_dagster.warehouse import growth_list, video_listing

MAX_VIDEOS = COMPARE_VIDEOS
AGE_DAYS_DEFAULT, CALENDAR_DAYS_DEFAULT = 7, 7
MAX_AGE_DAYS = AGE_DAYS.high
SEARCH_RESULTS = 10


@dataclass(frozen=True)
class CompareQuery:
    video_ids: tuple[str, ...] = ()
    search: str | None = None
    age_days: int = AGE_DAYS_DEFAULT
    days: int = CALENDAR_DAYS_DEFAULT

    def url(self, video_ids=None, prefix: str = "/compare", **extra) -> str:
        ids = self.video_ids if video_ids is None else video_ids
        params = {"videos": ",".join(ids)} if ids else {}
        if self.age_days != AGE_DAYS_DEFAULT:
            params["age_days"] = str(self.age_days)
        if self.days != CALENDAR_DAYS_DEFAULT:
            params["days"] = str(self.days)
        params.update(extra)
        return prefix + (f"?{urlencode(params)}" if params else "")


def compare_page(engine: Engine, query: CompareQuery, now: datetime | None = None) -> dict:
    """Raises UnknownVideoError for an untracked video."""
    now = now or datetime.now(UTC)
    videos = []
    for vid in query.video_ids:
        record = {k: py(v) for k, v in video_listing.video_record(engine, vid).items()}
        videos.append(record)
    ids = [v["video_id"] for v in videos]
    by_age = growth_list.series_by_age(engine, ids, query.age_days * 24)
    start = now - timedelta(days=query.days)
    by_time = growth_list.series_between(engine, ids, start, now)
    growth = growth_list.growth_of(engine, ids, now)
    out_videos = []
    for i, video in enumerate(videos):
        vid = video["video_id"]
        out_videos.append(
            {
                "video_id": vid,
                "title": video["title"],
                "channel_id": video["channel_id"],
                "channel_title": video["channel_title"],
                "published_at": video["published_at"],
                "status": video["status"],
                "series_class": f"s{i}",
                "gained_24h": py(growth.at[vid, "gained_24h"]) if vid in growth.index else None,
                "views_per_hour": py(growth.at[vid, "views_per_hour"])
                if vid in growth.index
                else None,
                "by_age": by_age.get(vid, []),
                "by_time": by_time.get(vid, []),
            }
        )
    found = []
    if query.search:
        frame, _ = video_listing.search_videos(
            engine, search=query.search, status="all", limit=SEARCH_RESULTS
        )
        found = [r for r in rows(frame) if r["video_id"] not in ids]
    return {
        "query": {
            "videos": ids,
            "q": query.search,
            "age_days": query.age_days,
            "days": query.days,
            "max_videos": MAX_VIDEOS,
        },
        "window": {"by_time_start": start, "by_time_end": now, "age_hours": query.age_days * 24},
        "gap_minutes": growth_list.GAP_MINUTES,
        "videos": out_videos,
        "search_results": found,
        "simulated": any(_is_simulated(v, set()) for v in videos),
    }


def _age_ticks(start: float, end: float, max_ticks: int):
    lo, hi, ticks = charts.nice_ticks(max(start, 0.0), end, max_ticks)
    return [(t, (f"{t:g} h" if hi <= 72 else f"{t / 24:g} d", "")) for t in ticks]


def _age_hour_ticks(start: float, end: float, max_ticks: int):
    """Ticks on whole days beyond three days of age, on hours below."""
    if end - start > 72:
        step_days = max(1, math.ceil((end - start) / 24 / max(1, max_ticks - 1)))
        first = math.ceil(max(start, 0) / 24 / step_days) * step_days
        ticks, t = [], first
        while t * 24 <= end:
            ticks.append((t * 24.0, (f"{t:g} d", "")))
            t += step_days
        return ticks
    return _age_ticks(start, end, max_ticks)


def _series(video: dict, key: str, x_of, y_key: str, gap_minutes: int) -> Series:
    points, previous = [], None
    for p in video[key]:
        y = p[y_key]
        if y is None:
            previous = None
            continue
        at = p["observed_at"]
        age = "unknown age" if p["age_hours"] is None else f"age {p['age_hours']:.1f} h"
        joined = previous is not None and at - previous <= timedelta(minutes=gap_minutes)
        hollow = y_key == "views_per_hour" and (p.get("hours_elapsed") or 0) * 60 > gap_minutes
        points.append(
            Point(
                x_of(p),
                y,
                f"{video['title'] or video['video_id']}: {y:,.{1 if y_key == 'views_per_hour' else 0}f} "
                f"{'views/hour' if y_key == 'views_per_hour' else 'views'} at {age} "
                f"({utc_label(at)})",
                join_prev=joined and not hollow,
                hollow=hollow,
            )
        )
        previous = None if hollow else at
    return Series(video["series_class"], points)


def compare_charts(page: dict) -> dict[str, Markup | None]:
    videos, gap = page["videos"], page["gap_minutes"]
    age_hours = page["window"]["age_hours"]
    pad = age_hours * 0.02
    out: dict[str, Markup | None] = {"age_views": None, "age_rate": None, "calendar": None}
    if any(v["by_age"] for v in videos):
        out["age_views"] = charts.chart(
            chart_id="chart-compare-age",
            title="Views by age since publishing",
            x_title="age since publishing",
            y_title="views",
            series=[_series(v, "by_age", lambda p: p["age_hours"], "views", gap) for v in videos],
            x_ticks=_age_hour_ticks,
            x_domain=(-pad, age_hours + pad),
        )
    if any(p["views_per_hour"] is not None for v in videos for p in v["by_age"]):
        out["age_rate"] = charts.chart(
            chart_id="chart-compare-rate",
            title="Views per hour by age since publishing",
            x_title="age since publishing",
            y_title="views / hour",
            series=[
                _series(v, "by_age", lambda p: p["age_hours"], "views_per_hour", gap)
                for v in videos
            ],
            x_ticks=_age_hour_ticks,
            x_domain=(-pad, age_hours + pad),
        )
    if any(v["by_time"] for v in videos):
        lo, hi = epoch(page["window"]["by_time_start"]), epoch(page["window"]["by_time_end"])
        out["calendar"] = charts.chart(
            chart_id="chart-compare-time",
            title="Views by calendar time (UTC)",
            x_title="observed at (UTC)",
            y_title="views",
            series=[
                _series(v, "by_time", lambda p: epoch(p["observed_at"]), "views", gap)
                for v in videos
            ],
            x_ticks=charts.time_ticks,
            x_domain=(lo, hi),
            y_log=True,
        )
    return out


# the chosen videos' observations (``by_age`` or ``by_time``), one row each
COMPARE_CSV_COLUMNS = ("video_id", *results.columns(results.AgedObservation))
# the chosen videos, without their chart's colour
VIDEO_CSV_COLUMNS = results.columns(results.CompareVideo, exclude=("series_class",))


def csv_rows(page: dict, table: str) -> list[dict]:
    """``page`` is the page's JSON (``results.ComparePage``)."""
    return [{"video_id": v["video_id"], **p} for v in page["videos"] for p in v[table]]
