"""Per-partition figures for the assets' metadata: each partition's own numbers, computed in
one grouped query over a run's whole window (a single-run backfill of many partitions)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine, text


def hourly_growth_figures(engine: Engine, start: datetime, end: datetime) -> dict[datetime, dict]:
    """Per snapshot hour of [start, end): growth rows, first observations, videos with a
    gain, views gained since each video's previous observation, newest observation time,
    and where the hour's observations came from."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                WITH g AS (
                    SELECT snapshot_hour, count(*) AS rows,
                           count(*) FILTER (WHERE prev_observed_at IS NULL) AS first_observations,
                           count(views_gained) AS with_gain,
                           coalesce(sum(views_gained), 0) AS views_gained,
                           max(observed_at) AS last_observed_at
                    FROM ytmetrics.video_growth_hourly
                    WHERE snapshot_hour >= :start AND snapshot_hour < :end
                    GROUP BY snapshot_hour
                ),
                b AS (
                    SELECT snapshot_hour, string_agg(DISTINCT source, ',' ORDER BY source) AS source
                    FROM ytmetrics.snapshot_batches
                    WHERE snapshot_hour >= :start AND snapshot_hour < :end
                    GROUP BY snapshot_hour
                )
                SELECT * FROM g FULL JOIN b USING (snapshot_hour)
                """
            ),
            {"start": start, "end": end},
        )
        return {
            r.snapshot_hour: {
                "rows": int(r.rows or 0),
                "first_observations": int(r.first_observations or 0),
                "with_gain": int(r.with_gain or 0),
                "views_gained": int(r.views_gained or 0),
                "last_observed_at": r.last_observed_at,
                "source": r.source or "none",
            }
            for r in rows
        }


def daily_growth_figures(engine: Engine, start: date, end: date) -> dict[date, dict]:
    """Per UTC day of [start, end) in video_growth_daily: rows, views gained (each video's
    growth over the day), mean engagement rate, and the source of the day's observations."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                WITH d AS (
                    SELECT day, count(*) AS rows, coalesce(sum(views_gained), 0) AS views_gained,
                           avg(engagement_rate) AS mean_engagement
                    FROM ytmetrics.video_growth_daily
                    WHERE day >= :start AND day < :end
                    GROUP BY day
                ),
                b AS (
                    SELECT CAST(snapshot_hour AT TIME ZONE 'UTC' AS date) AS day,
                           string_agg(DISTINCT source, ',' ORDER BY source) AS source
                    FROM ytmetrics.snapshot_batches
                    WHERE snapshot_hour >= CAST(:start AS timestamp) AT TIME ZONE 'UTC'
                      AND snapshot_hour < CAST(:end AS timestamp) AT TIME ZONE 'UTC'
                    GROUP BY 1
                )
                SELECT * FROM d FULL JOIN b USING (day)
                """
            ),
            {"start": start, "end": end},
        )
        return {
            r.day: {
                "rows": int(r.rows or 0),
                "views_gained": int(r.views_gained or 0),
                "mean_engagement_rate": None
                if r.mean_engagement is None
                else float(r.mean_engagement),
                "source": r.source or "none",
            }
            for r in rows
        }


def channel_daily_figures(engine: Engine, start: date, end: date) -> dict[date, dict]:
    """Per UTC day of [start, end) in channel_growth_daily: channels, views gained, videos
    published, and the channel that gained the most."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT day, count(*) AS rows, coalesce(sum(views_gained), 0) AS views_gained,
                       coalesce(sum(videos_published), 0) AS videos_published,
                       (array_agg(channel_id ORDER BY views_gained DESC, channel_id))[1]
                           AS top_channel,
                       max(views_gained) AS top_channel_views_gained
                FROM ytmetrics.channel_growth_daily
                WHERE day >= :start AND day < :end
                GROUP BY day
                """
            ),
            {"start": start, "end": end},
        )
        return {
            r.day: {
                "rows": int(r.rows),
                "views_gained": int(r.views_gained),
                "videos_published": int(r.videos_published),
                "top_channel": r.top_channel or "none",
                "top_channel_views_gained": int(r.top_channel_views_gained or 0),
            }
            for r in rows
        }
