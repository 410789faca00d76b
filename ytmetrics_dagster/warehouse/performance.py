"""A video's performance against its channel: launch curves, milestones, the seed's analysis.

Read API over the warehouse; every value is a bound parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import analysis, cohorts
from ytmetrics_dagster.warehouse.metric_series import GROWTH_DEFINITION, video_metrics
from ytmetrics_dagster.warehouse.read_limits import _iso, _records


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
