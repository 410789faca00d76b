"""The channel page: the channel's hourly statistics (subscribers, views, videos, and their
growth) and its videos' launches: each recent video's views by age, and the launch curves
against the channel median over one cohort. ``/api/channels/{id}`` returns the same dict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from sqlalchemy import Engine

from ytmetrics_dagster.surfaces import results
from ytmetrics_dagster.surfaces.dashboard import charts
from ytmetrics_dagster.surfaces.dashboard.charts import Point, Series, epoch, utc_label
from ytmetrics_dagster.surfaces.dashboard.compare import _age_hour_ticks, _series
from ytmetrics_dagster.surfaces.dashboard.views import py, rows
from ytmetrics_dagster.warehouse import channel_stats, cohorts, growth_list, video_listing
from ytmetrics_dagster.warehouse.analysis import LAUNCH_AGES

LAUNCH_VIDEOS = 8  # the channel's most recently published videos drawn by age
LAUNCH_AGE_DAYS = 7


class UnknownChannelError(LookupError):
    def __init__(self, channel_id: str):
        super().__init__(channel_id)
        self.channel_id = channel_id


def channel_page(engine: Engine, channel_id: str, days: int, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    record = channel_stats.channel_record(engine, channel_id)
    if record is None:
        raise UnknownChannelError(channel_id)
    history = rows(channel_stats.channel_history(engine, channel_id, days))
    frame, total = video_listing.search_videos(
        engine, channel_id=channel_id, status="all", sort="published", limit=100
    )
    videos = rows(frame)
    ids = [v["video_id"] for v in videos]
    growth = growth_list.growth_of(engine, ids, now)
    for v in videos:
        v["gained_24h"] = py(growth.at[v["video_id"], "gained_24h"])
        v["views_per_hour"] = py(growth.at[v["video_id"], "views_per_hour"])
    recent = videos[:LAUNCH_VIDEOS]
    by_age = growth_list.series_by_age(
        engine, [v["video_id"] for v in recent], LAUNCH_AGE_DAYS * 24
    )
    launches = [
        {
            "video_id": v["video_id"],
            "title": v["title"],
            "published_at": v["published_at"],
            "series_class": f"s{i}",
            "by_age": by_age.get(v["video_id"], []),
        }
        for i, v in enumerate(recent)
    ]
    curves = cohorts.channel_curves(engine, channel_id)
    cohort = cohorts.best_cohort(curves, channel_id=channel_id)
    table = []
    for vid, group in curves.groupby("video_id") if len(curves) else []:
        values = {r.age_label: py(r.views) for r in group.itertuples()}
        table.append({"video_id": vid, **{label: values.get(label) for label, _ in LAUNCH_AGES}})
    titles = {v["video_id"]: v["title"] for v in videos}
    for row in table:
        row["title"] = titles.get(row["video_id"])
    table.sort(key=lambda r: ids.index(r["video_id"]) if r["video_id"] in ids else len(ids))
    median = {r["age_label"]: py(r["median_views"]) for r in cohort.median.to_dict("records")}
    return {
        "channel": {k: py(v) for k, v in record.items()},
        "window": {"days": days, "ends_at_latest_observation": True},
        "latest": history[-1] if history else None,
        "history": history,
        "videos_total": total,
        "videos": videos,
        "launches": launches,
        "launch_age_days": LAUNCH_AGE_DAYS,
        "launch_curves": table,
        "cohort": {
            "videos": cohort.videos,
            "ages": [label for label, _ in cohort.ages],
            "drawn": cohort.drawn,
            "median_views": [median.get(label) for label, _ in LAUNCH_AGES],
            "note": cohort.note,
            "definition": cohorts.COHORT_DEFINITION.replace(" (the video compared excluded)", ""),
        },
        "launch_ages": [label for label, _ in LAUNCH_AGES],
        "gap_minutes": growth_list.GAP_MINUTES,
        "simulated": record.get("source") == "simulator"
        or any((v.get("title") or "").startswith("[SIMULATED]") for v in videos),
    }


def _stat_chart(history: list[dict], key: str, chart_id: str, title: str, gap: int) -> Markup:
    points, previous = [], None
    for h in history:
        if h[key] is None:
            previous = None
            continue
        at = h["observed_at"]
        points.append(
            Point(
                epoch(at),
                h[key],
                f"{utc_label(at)}: {h[key]:,} {key.replace('_count', '')}",
                join_prev=previous is not None and at - previous <= timedelta(minutes=gap),
            )
        )
        previous = at
    return charts.chart(
        chart_id=chart_id,
        title=title,
        x_title="observed at (UTC)",
        y_title=key.replace("_count", "s"),
        series=[Series("views", points)],
        x_ticks=charts.time_ticks,
        # a count that did not move (subscribers are rounded to 3 figures) is drawn from zero,
        # not zoomed to a band of ±1 around it
        y_from_zero=len({p.y for p in points}) <= 1,
    )


def channel_charts(page: dict) -> dict[str, Markup | None]:
    history, gap = page["history"], page["gap_minutes"]
    out: dict[str, Markup | None] = {"subscribers": None, "views": None, "launches": None}
    if any(h["subscriber_count"] is not None for h in history):
        out["subscribers"] = _stat_chart(
            history, "subscriber_count", "chart-channel-subscribers", "Subscribers (UTC)", gap
        )
    if history:
        out["views"] = _stat_chart(
            history, "view_count", "chart-channel-views", "Channel views (UTC)", gap
        )
    if any(v["by_age"] for v in page["launches"]):
        hours = page["launch_age_days"] * 24
        out["launches"] = charts.chart(
            chart_id="chart-channel-launches",
            title="Launches: views by age since publishing",
            x_title="age since publishing",
            y_title="views",
            series=[
                _series(v, "by_age", lambda p: p["age_hours"], "views", gap)
                for v in page["launches"]
            ],
            x_ticks=_age_hour_ticks,
            x_domain=(-hours * 0.02, hours * 1.02),
        )
    return out


# the channel's observations: the counts, then their growth
HISTORY_COLUMNS = results.columns(
    results.ChannelObservation,
    "snapshot_hour",
    "observed_at",
    "subscriber_count",
    "view_count",
    "video_count",
    "subscribers_gained",
    "views_gained",
    "videos_gained",
    "hours_elapsed",
    "views_per_hour",
)
# the channel's videos, as the page's table shows them
VIDEO_COLUMNS = results.columns(
    results.ChannelVideo,
    "video_id",
    "title",
    "published_at",
    "status",
    "gained_24h",
    "views_per_hour",
    "latest_views",
    "last_observed_at",
)
# the launch curves: the video, then its views at each launch age
LAUNCH_CURVE_COLUMNS = (
    "video_id",
    "title",
    *results.columns(results.LaunchCurveRow, exclude=("video_id", "title")),
)
