"""What each page shows, assembled from the warehouse read API (no SQL here).

The page and its JSON twin are built from the same dict, so ``/api/videos/{id}`` returns
exactly the numbers the charts draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup
from sqlalchemy import Engine

from ytmetrics_dagster.surfaces import inputs, results
from ytmetrics_dagster.surfaces.dashboard import charts
from ytmetrics_dagster.surfaces.dashboard.sparkline import sparkline
from ytmetrics_dagster.warehouse import (
    cohorts,
    growth_list,
    metric_series,
    performance,
    video_listing,
)
from ytmetrics_dagster.warehouse.analysis import LAUNCH_AGES, MILESTONE_METHOD, eta_text

SIMULATED_PREFIX = "[SIMULATED]"
# Observations farther apart than this are not joined by a line: the hours between were not
# observed, and a straight line would suggest they were.
GAP_MINUTES = 90
PER_PAGE, MAX_PER_PAGE = 25, inputs.PER_PAGE.high
PER_PAGE_CHOICES = (10, 25, 50, 100)  # offered by the page; the API takes any 1..100
DAYS_CHOICES = (1, 3, 7, 14, 30, 90, 365)


# the conversions are the result models' (one place)
py = results.plain
rows = results.records


def _is_simulated(video: dict, sources: set[str]) -> bool:
    title = video.get("title") or ""
    return (
        video.get("source") == "simulator"
        or "simulator" in sources
        or title.startswith(SIMULATED_PREFIX)
    )


@dataclass(frozen=True)
class ListQuery:
    search: str | None = None
    status: str = "active"
    channel_id: str | None = None
    sort: str = "added"
    order: str = "desc"
    page: int = 1
    per_page: int = PER_PAGE

    def as_params(self, **changes) -> dict[str, str]:
        """Query-string parameters of this listing (defaults left out), with changes."""
        values = {
            "q": self.search or "",
            "status": self.status,
            "channel": self.channel_id or "",
            "sort": self.sort,
            "order": self.order,
            "page": self.page,
            "per_page": self.per_page,
            **changes,
        }
        defaults = ListQuery()
        default_values = {
            "q": "",
            "status": defaults.status,
            "channel": "",
            "sort": defaults.sort,
            "order": defaults.order,
            "page": 1,
            "per_page": defaults.per_page,
        }
        return {k: str(v) for k, v in values.items() if v != default_values[k]}


def video_list(engine: Engine, query: ListQuery, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    search = {
        "search": query.search,
        "status": query.status,
        "channel_id": query.channel_id,
        "sort": query.sort,
        "descending": query.order == "desc",
        "limit": query.per_page,
        "offset": (query.page - 1) * query.per_page,
    }
    if query.sort in growth_list.GROWTH_SORTS:
        frame, total = growth_list.search_by_growth(engine, **search, now=now)
    else:
        frame, total = video_listing.search_videos(engine, **search)
    videos = rows(frame)
    ids = [v["video_id"] for v in videos]
    growth = growth_list.growth_of(engine, ids, now)
    lines = growth_list.sparklines(engine, ids, now)
    for video in videos:
        video["simulated"] = _is_simulated(video, {video.get("latest_source") or ""})
        video["gained_24h"] = py(growth.at[video["video_id"], "gained_24h"])
        video["views_per_hour"] = py(growth.at[video["video_id"], "views_per_hour"])
        video["sparkline"] = [{"at": at, "views": v} for at, v in lines[video["video_id"]]]
    return {
        "query": {
            "q": query.search,
            "status": query.status,
            "channel": query.channel_id,
            "sort": query.sort,
            "order": query.order,
            "page": query.page,
            "per_page": query.per_page,
        },
        "summary": growth_list.summary(engine, now),
        "growth_definition": GROWTH_DEFINITION,
        "total": total,
        "pages": max(1, math.ceil(total / query.per_page)),
        "videos": videos,
        "simulated": any(v["simulated"] for v in videos),
        "channels": rows(video_listing.video_channels(engine)),
    }


GROWTH_DEFINITION = (
    f"gained_24h: views at the latest observation minus views at the last observation at or "
    f"before {growth_list.WINDOW_HOURS} h ago (the first one after it when there is none); "
    "views_per_hour: between the two newest observations, over the real time between them; "
    f"sparkline: observed views over the last {growth_list.SPARK_DAYS} days"
)


def _launch_curve(engine: Engine, video: dict) -> tuple[list[dict], dict]:
    """Every launch age: the video's views there (if reached and bracketed by observations)
    next to the channel median over one cohort (the channel's other videos with a value at
    every age the video has one; none drawn from fewer than 3), and the cohort itself."""
    frame = performance.launch_curve(engine, video["video_id"])
    curve = {r["age_label"]: r for r in rows(frame)}
    cohort = cohorts.cohort_for_video(engine, video["video_id"], video["channel_id"], frame)
    median = {label: {k: py(v) for k, v in r.items()} for label, r in cohort.by_age().items()}
    out = []
    for label, hours in LAUNCH_AGES:
        own, med = curve.get(label, {}), median.get(label, {})
        views, median_views = own.get("views"), med.get("median_views")
        out.append(
            {
                "age_label": label,
                "age_hours": hours,
                "reached": label in curve,
                "views": views,
                "interpolated": own.get("interpolated"),
                "before_observed_at": own.get("before_observed_at"),
                "after_observed_at": own.get("after_observed_at"),
                "channel_median_views": median_views,
                "channel_videos": cohort.videos if med else None,
                "ratio_to_median": (views / median_views)
                if views is not None and median_views
                else None,
            }
        )
    summary = {
        "videos": cohort.videos,
        "ages": [label for label, _ in cohort.ages],
        "drawn": cohort.drawn,
        "min_videos": cohorts.MIN_COHORT,
        "note": cohort.note,
        "definition": cohorts.COHORT_DEFINITION,
    }
    return out, summary


def _milestone(engine: Engine, video_id: str) -> dict | None:
    found = performance.milestone(engine, video_id)
    if found is None:
        return None
    out = {}
    for key, value in found.items():
        if key in ("computed_at", "observed_at", "window_start", "eta_at") and value:
            value = datetime.fromisoformat(value)
        out[key] = py(value)
    out["eta_text"] = eta_text(found)
    return out


def video_page(engine: Engine, video_id: str, days: int) -> dict:
    """Raises UnknownVideoError for an untracked video."""
    video = {k: py(v) for k, v in video_listing.video_record(engine, video_id).items()}
    observations = rows(metric_series.video_observations(engine, video_id, days=days))
    sources = {o["source"] for o in observations}
    latest = observations[-1] if observations else None
    launch_curve, cohort = _launch_curve(engine, video)
    return {
        "video": video,
        "simulated": _is_simulated(video, sources),
        "data_sources": sorted(sources),
        "window": {
            "days": days,
            "ends_at_latest_observation": True,
            "first_observed_at": observations[0]["observed_at"] if observations else None,
            "last_observed_at": latest["observed_at"] if latest else None,
            "gap_minutes": GAP_MINUTES,
        },
        "latest": latest,
        "observations": observations,
        "launch_curve": launch_curve,
        "channel_cohort": cohort,
        "milestone": _milestone(engine, video_id),
        "milestone_method": MILESTONE_METHOD,
    }


def list_sparklines(listing: dict) -> dict[str, Markup]:
    return {
        v["video_id"]: sparkline(
            [(p["at"], p["views"]) for p in v["sparkline"]], growth_list.SPARK_DAYS, GAP_MINUTES
        )
        for v in listing["videos"]
    }


def video_charts(page: dict) -> dict:
    """The page's four SVG charts (None where there is nothing to draw)."""
    observations, gap = page["observations"], page["window"]["gap_minutes"]
    curve, milestone = page["launch_curve"], page["milestone"]
    has_rate = any(o["views_per_hour"] is not None for o in observations)
    has_curve = any(r["views"] is not None or r["channel_median_views"] is not None for r in curve)
    return {
        "views": charts.views_chart(observations, gap) if observations else None,
        "rate": charts.views_per_hour_chart(observations, gap) if has_rate else None,
        "launch": charts.launch_chart(curve) if has_curve else None,
        "milestone": charts.milestone_chart(observations, milestone, gap)
        if milestone and milestone["views_per_hour"] is not None
        else None,
    }
