"""Channel discovery: resolve channels and find their new uploads, then queue them through
the same registration path as every other input. No Dagster here: the CLI and the
``channel_uploads_sensor`` both use it.

Discovery reads a channel's uploads playlist (``playlistItems.list``, 1 unit a page, newest
first), never ``search.list`` (100 units a call, about 100 calls a day).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from ytmetrics_dagster.warehouse import channels as channel_store
from ytmetrics_dagster.warehouse.quota import Budget, QuotaBudgetExceeded, release, reserve
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster.youtube.client import YouTubeClient
from ytmetrics_dagster.youtube.ids import ChannelRef
from ytmetrics_dagster.youtube.models import ChannelInfo


class UnknownChannelOnYouTube(LookupError):
    def __init__(self, ref: ChannelRef):
        super().__init__(f"YouTube has no channel {ref.label!r}")


def _reserve_page(engine: Engine, budget: Budget) -> int | None:
    """Reserve the unit of one playlist page, atomically against the ledger and the open
    reservations of running collections (discovery may spend the reserve: it is what the
    reserve is for). Raises QuotaBudgetExceeded when nothing is left."""
    try:
        return reserve(
            engine,
            budget,
            1,
            datetime.now(UTC),
            purpose="channel discovery page",
            run_id=None,
            discovery=True,
            hold_for=timedelta(minutes=5),
        )
    except QuotaBudgetExceeded:
        raise QuotaBudgetExceeded(
            "channel discovery stopped: today's YouTube quota is spent"
        ) from None


def uploads_until_known(
    engine: Engine,
    client: YouTubeClient,
    playlist_id: str,
    *,
    budget: Budget,
    max_pages: int,
    limit: int | None = None,
    stop_at_known: bool = True,
    not_before: datetime | None = None,
) -> list[str]:
    """Video ids from the uploads playlist, newest first. Paging stops at the first video
    already known, at the first published before ``not_before``, after ``limit`` ids, or
    after ``max_pages`` pages."""
    found: list[str] = []
    token: str | None = None
    for _ in range(max_pages):
        reservation = _reserve_page(engine, budget)
        try:
            page, token = client.playlist_page(playlist_id, token)
        finally:
            # the page's attempt is in the ledger by now; holding it too would count it twice
            release(engine, [reservation])
        ids = [v.video_id for v in page]
        known = channel_store.known_video_ids(engine, ids) if stop_at_known else set()
        for video in page:
            vid = video.video_id
            if vid in known:
                return found
            if not_before and video.published_at and video.published_at < not_before:
                return found
            found.append(vid)
            if limit is not None and len(found) >= limit:
                return found
        if not token:
            break
    return found


def queue_uploads(engine: Engine, channel_id: str, video_ids: list[str]) -> int:
    known = channel_store.known_video_ids(engine, video_ids)
    fresh = [v for v in video_ids if v not in known]
    # oldest first, so request ids follow publication order
    queue_registrations(
        engine, [(v, v) for v in reversed(fresh)], requested_by=f"channel:{channel_id}"
    )
    return len(fresh)


@dataclass
class TrackResult:
    channel: ChannelInfo
    queued: int


def track_channel(
    engine: Engine,
    client: YouTubeClient,
    ref: ChannelRef,
    *,
    budget: Budget,
    existing: int | None = 0,
) -> TrackResult:
    """Resolve and store the channel; queue its latest ``existing`` uploads (None = all)."""
    info = client.channel(ref)
    if info is None:
        raise UnknownChannelOnYouTube(ref)
    now = datetime.now(UTC)
    source = client.source_seen or client.source_hint
    channel_store.upsert_channel(engine, info, source=source, now=now)
    queued = 0
    if existing is None or existing > 0:
        ids = uploads_until_known(
            engine,
            client,
            info.uploads_playlist_id,
            budget=budget,
            max_pages=10_000,
            limit=existing,
            stop_at_known=False,
        )
        queued = queue_uploads(engine, info.channel_id, ids)
    # The poller registers uploads published after this moment; older ones only on request.
    channel_store.mark_polled(engine, info.channel_id, now=now, registered=queued)
    return TrackResult(info, queued)


@dataclass
class PollResult:
    channels_polled: int = 0
    queued: int = 0
    pages: int = 0
    stopped_early: str | None = None


def poll_channels(
    engine: Engine,
    client: YouTubeClient,
    *,
    budget: Budget,
    min_interval_seconds: float,
    max_channels: int,
    max_pages_per_channel: int,
    time_budget_seconds: float,
) -> PollResult:
    """Queue new uploads of the tracked channels that are due, least recently polled first,
    within a time budget (sensor ticks must stay well under a minute)."""
    started = time.monotonic()
    now = datetime.now(UTC)
    due = channel_store.channels_due(
        engine, limit=max_channels, polled_before=now - timedelta(seconds=min_interval_seconds)
    )
    result = PollResult()
    for channel_id, playlist_id, tracked_at in due:
        if time.monotonic() - started > time_budget_seconds:
            result.stopped_early = "time budget"
            break
        calls_before = client.calls
        try:
            ids = uploads_until_known(
                engine,
                client,
                playlist_id,
                budget=budget,
                max_pages=max_pages_per_channel,
                not_before=tracked_at,
            )
        except QuotaBudgetExceeded as err:
            result.stopped_early = str(err)
            break
        queued = queue_uploads(engine, channel_id, ids)
        channel_store.mark_polled(engine, channel_id, now=datetime.now(UTC), registered=queued)
        result.channels_polled += 1
        result.pages += client.calls - calls_before
        result.queued += queued
    return result
