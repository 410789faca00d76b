"""Writes and reads of ``channels``: the channels whose new uploads we register."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.frames import Rows
from ytmetrics_dagster.warehouse.sources import assert_source_allowed
from ytmetrics_dagster.youtube.models import ChannelInfo

if TYPE_CHECKING:
    pass


class UnknownChannelError(LookupError):
    def __init__(self, label: str):
        super().__init__(f"channel {label!r} is not tracked (see `ytmetrics channels`)")


def upsert_channel(engine: Engine, info: ChannelInfo, *, source: str, now: datetime) -> None:
    with engine.begin() as conn:
        assert_source_allowed(conn, source)
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.channels
                    (channel_id, title, handle, uploads_playlist_id, status, source, tracked_at)
                VALUES (:cid, :title, :handle, :uploads, 'tracked', :source, :now)
                ON CONFLICT (channel_id) DO UPDATE SET
                    -- tracking again after a pause: uploads of the pause are not "new"
                    tracked_at = CASE WHEN channels.status = 'untracked'
                                      THEN EXCLUDED.tracked_at ELSE channels.tracked_at END,
                    title = EXCLUDED.title, handle = EXCLUDED.handle,
                    uploads_playlist_id = EXCLUDED.uploads_playlist_id,
                    status = 'tracked', untracked_at = NULL, source = EXCLUDED.source
                """
            ),
            {
                "cid": info.channel_id,
                "title": info.title,
                "handle": info.handle,
                "uploads": info.uploads_playlist_id,
                "source": source,
                "now": now,
            },
        )


def untrack_channel(engine: Engine, channel: str, now: datetime) -> str:
    """Stop polling a channel named by id or handle; its videos stay tracked."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                UPDATE ytmetrics.channels SET status = 'untracked', untracked_at = :now
                WHERE (channel_id = :c OR lower(handle) = lower(:c)) AND status = 'tracked'
                RETURNING channel_id
                """
            ),
            {"c": channel, "now": now},
        ).first()
    if row is None:
        raise UnknownChannelError(channel)
    return row.channel_id


def channel_rows(engine: Engine, include_untracked: bool = False) -> Rows:
    """Tracked channels (all with ``include_untracked``), newest first, each with its count of
    active videos."""
    with engine.connect() as conn:
        return Rows.of(
            conn.execute(
                text(
                    """
                    SELECT c.channel_id, c.handle, c.title, c.status, c.tracked_at,
                           c.last_polled_at, c.uploads_registered,
                           (SELECT count(*) FROM ytmetrics.videos v
                            WHERE v.channel_id = c.channel_id AND v.status = 'active')
                               AS active_videos
                    FROM ytmetrics.channels c
                    WHERE :all OR c.status = 'tracked'
                    ORDER BY c.tracked_at DESC, c.channel_id
                    """
                ),
                {"all": include_untracked},
            )
        )


def channels_due(
    engine: Engine, *, limit: int, polled_before: datetime
) -> list[tuple[str, str, datetime]]:
    """(channel_id, uploads_playlist_id, tracked_at) of tracked channels not polled since
    ``polled_before``, least recently polled first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT channel_id, uploads_playlist_id, tracked_at FROM ytmetrics.channels
                WHERE status = 'tracked' AND (last_polled_at IS NULL OR last_polled_at < :before)
                ORDER BY last_polled_at NULLS FIRST, channel_id
                LIMIT :limit
                """
            ),
            {"before": polled_before, "limit": limit},
        )
        return [(r.channel_id, r.uploads_playlist_id, r.tracked_at) for r in rows]


def mark_polled(engine: Engine, channel_id: str, *, now: datetime, registered: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                UPDATE ytmetrics.channels
                SET last_polled_at = :now, uploads_registered = uploads_registered + :n
                WHERE channel_id = :cid
                """
            ),
            {"now": now, "n": registered, "cid": channel_id},
        )


def known_video_ids(engine: Engine, video_ids: Iterable[str]) -> set[str]:
    """Ids discovery must not queue again: tracked, queued (pending or registered), or
    rejected by YouTube before. Re-queueing a rejected upload on every poll would spend quota
    on every poll for an answer already known; `ytmetrics register` still queues it by hand."""
    ids = list(video_ids)
    if not ids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT video_id FROM ytmetrics.videos WHERE video_id = ANY(:ids)
                UNION
                SELECT video_id FROM ytmetrics.registration_requests
                WHERE video_id = ANY(:ids) AND status IN ('pending', 'registered', 'rejected')
                """
            ),
            {"ids": ids},
        )
        return {r.video_id for r in rows}
