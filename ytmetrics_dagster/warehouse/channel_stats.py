"""Hourly channel statistics (table ``channel_statistics``, view ``channel_statistics_growth``):
the write of one hour and the reads of the channel page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.locks import xact_lock
from ytmetrics_dagster.warehouse.sources import assert_source_allowed
from ytmetrics_dagster.youtube.channel_stats import ChannelStatistics

# advisory lock namespace of channel-statistics hours ("chst")
_LOCK = 0x63687374


def tracked_channel_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT channel_id FROM ytmetrics.channels WHERE status = 'tracked' "
                    "ORDER BY channel_id"
                )
            ).scalars()
        )


def replace_hour(
    engine: Engine,
    hour: datetime,
    rows: Sequence[ChannelStatistics],
    *,
    observed_at: datetime,
    source: str,
    run_id: str | None,
) -> int:
    """Make ``hour`` hold exactly ``rows`` (one transaction, the hour locked)."""
    with engine.begin() as conn:
        xact_lock(conn, _LOCK, int(hour.timestamp() // 3600))
        if rows:
            # an hour with no channel to observe writes nothing and mixes nothing (no call was
            # made, so no answer labelled the source: the configured one may be a stand-in's)
            assert_source_allowed(conn, source)
        conn.execute(
            text("DELETE FROM ytmetrics.channel_statistics WHERE snapshot_hour = :h"), {"h": hour}
        )
        if rows:
            conn.execute(
                text(
                    """
                    INSERT INTO ytmetrics.channel_statistics
                        (channel_id, snapshot_hour, observed_at, subscriber_count,
                         hidden_subscribers, view_count, video_count, source, run_id)
                    VALUES (:c, :h, :at, :subs, :hidden, :views, :videos, :source, :run_id)
                    """
                ),
                [
                    {
                        "c": r.channel_id,
                        "h": hour,
                        "at": observed_at,
                        "subs": r.subscriber_count,
                        "hidden": r.hidden_subscribers,
                        "views": r.view_count,
                        "videos": r.video_count,
                        "source": source,
                        "run_id": run_id,
                    }
                    for r in rows
                ],
            )
    return len(rows)


def hour_growth(engine: Engine, hour: datetime) -> dict:
    """Gains of the hour's observations since each channel's previous one."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    """
                    SELECT count(*) AS channels,
                           coalesce(sum(views_gained), 0) AS views_gained,
                           coalesce(sum(subscribers_gained), 0) AS subs_gained,
                           count(*) FILTER (WHERE subscriber_count IS NULL) AS hidden
                    FROM ytmetrics.channel_statistics_growth WHERE snapshot_hour = :h
                    """
                ),
                {"h": hour},
            )
            .mappings()
            .one()
        )
    return {k: int(v) for k, v in row.items()}


def channel_history(engine: Engine, channel_id: str, days: int) -> pd.DataFrame:
    """The channel's observations (with growth) over the ``days`` ending at its latest one."""
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(
                """
                SELECT snapshot_hour, observed_at, subscriber_count, view_count, video_count,
                       prev_observed_at, hours_elapsed, subscribers_gained, views_gained,
                       videos_gained, views_per_hour
                FROM ytmetrics.channel_statistics_growth
                WHERE channel_id = :c
                  AND snapshot_hour >= (SELECT max(snapshot_hour) FROM ytmetrics.channel_statistics
                                        WHERE channel_id = :c) - make_interval(days => :days)
                ORDER BY snapshot_hour
                """
            ),
            conn,
            params={"c": channel_id, "days": days},
        )
    for col in (
        "subscriber_count",
        "view_count",
        "video_count",
        "subscribers_gained",
        "views_gained",
        "videos_gained",
    ):
        frame[col] = frame[col].astype("Int64")
    return frame


def channel_record(engine: Engine, channel_id: str) -> dict | None:
    """The channel as the warehouse knows it: tracked, or only the channel of tracked videos."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    """
                    SELECT :c AS channel_id,
                           coalesce(c.title, (SELECT max(channel_title) FROM ytmetrics.videos
                                              WHERE channel_id = :c)) AS title,
                           c.handle, c.status, c.tracked_at, c.source,
                           (SELECT count(*) FROM ytmetrics.videos WHERE channel_id = :c) AS videos,
                           (SELECT count(*) FROM ytmetrics.videos
                            WHERE channel_id = :c AND status = 'active') AS active_videos
                    FROM (SELECT 1) one
                    LEFT JOIN ytmetrics.channels c ON c.channel_id = :c
                    """
                ),
                {"c": channel_id},
            )
            .mappings()
            .one()
        )
    if row["status"] is None and row["videos"] == 0:
        return None
    return dict(row)
