"""Data-quality queries behind the Dagster asset checks. Each returns plain numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text


def snapshot_window_problems(engine: Engine, start: datetime, end: datetime) -> dict:
    """Negative counters and duplicate (video, hour) rows in [start, end)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                WITH win AS (
                    SELECT * FROM ytmetrics.metric_snapshots
                    WHERE snapshot_hour >= :start AND snapshot_hour < :end
                )
                SELECT
                    (SELECT count(*) FROM win
                     WHERE view_count < 0 OR like_count < 0 OR comment_count < 0) AS negative,
                    (SELECT count(*) FROM (SELECT video_key, snapshot_hour FROM win
                                           GROUP BY 1, 2 HAVING count(*) > 1) d) AS duplicates
                """
            ),
            {"start": start, "end": end},
        ).one()
        return {"negative": int(row.negative), "duplicates": int(row.duplicates)}


def latest_snapshot_hour(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT max(snapshot_hour) FROM ytmetrics.snapshot_batches")
        ).scalar_one()


def growth_window_reconciliation(engine: Engine, start: datetime, end: datetime) -> dict:
    """Growth rows versus snapshot rows in [start, end), and the window's total views gained
    versus the same total computed straight from the snapshots (plus how many growth rows
    are first observations, for the asset's metadata)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                WITH snaps AS (
                    SELECT video_key, snapshot_hour, view_count FROM ytmetrics.metric_snapshots
                    WHERE snapshot_hour >= :start AND snapshot_hour < :end
                ),
                per_video AS (
                    SELECT s.video_key,
                           (array_agg(s.view_count ORDER BY s.snapshot_hour DESC))[1] AS last_views,
                           (array_agg(s.view_count ORDER BY s.snapshot_hour))[1] AS first_views,
                           (SELECT p.view_count FROM ytmetrics.metric_snapshots p
                            WHERE p.video_key = s.video_key AND p.snapshot_hour < :start
                            ORDER BY p.snapshot_hour DESC LIMIT 1) AS before_views
                    FROM snaps s GROUP BY s.video_key
                )
                SELECT
                    (SELECT count(*) FROM snaps) AS snapshot_rows,
                    (SELECT count(*) FROM ytmetrics.video_growth_hourly
                     WHERE snapshot_hour >= :start AND snapshot_hour < :end) AS growth_rows,
                    (SELECT coalesce(sum(views_gained), 0) FROM ytmetrics.video_growth_hourly
                     WHERE snapshot_hour >= :start AND snapshot_hour < :end) AS growth_total,
                    (SELECT count(*) FROM ytmetrics.video_growth_hourly
                     WHERE snapshot_hour >= :start AND snapshot_hour < :end
                       AND prev_observed_at IS NULL) AS first_observations,
                    (SELECT coalesce(sum(last_views - coalesce(before_views, first_views)), 0)
                     FROM per_video) AS snapshot_total
                """
            ),
            {"start": start, "end": end},
        ).one()
        return {k: int(v) for k, v in row._mapping.items()}


def sources_between(
    engine: Engine, start: datetime | None = None, end: datetime | None = None
) -> str:
    """Where the observations came from ('simulator', 'youtube' or both): of the snapshots
    in [start, end), or of the tracked videos when no window is given."""
    with engine.connect() as conn:
        if start is None or end is None:
            value = conn.execute(
                text(
                    "SELECT string_agg(DISTINCT source, ',' ORDER BY source) FROM ytmetrics.videos"
                )
            ).scalar_one()
        else:
            value = conn.execute(
                text(
                    "SELECT string_agg(DISTINCT source, ',' ORDER BY source) FROM ytmetrics.snapshot_batches "
                    "WHERE snapshot_hour >= :start AND snapshot_hour < :end"
                ),
                {"start": start, "end": end},
            ).scalar_one()
    return value or "none"
