"""What the YouTube source returns, as plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class VideoStatistics:
    """One observation of a video's public counters.

    ``like_count`` is None when the owner hides likes; ``comment_count`` is None when
    comments are disabled. They are never reported as 0 in those cases.
    """

    video_id: str
    view_count: int
    like_count: int | None
    comment_count: int | None


@dataclass(frozen=True)
class VideoDetails:
    video_id: str
    title: str
    channel_id: str | None
    channel_title: str | None
    published_at: datetime | None
    duration_seconds: int | None
    statistics: VideoStatistics | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of asking for a set of ids: found items, ids YouTube did not return,
    how many HTTP calls (= quota units for videos.list) it took, and where the data came from."""

    items: list = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    api_calls: int = 0
    source: str = "youtube"


@dataclass(frozen=True)
class ApiCall:
    """One API request as the quota sees it: ``units`` counts every attempt that reached
    YouTube (retries included), since failed requests are charged too."""

    called_at: datetime
    method: str
    units: int
    http_status: int | None
    reason: str | None
    source: str
    bucket: str = "default"


@dataclass(frozen=True)
class ChannelInfo:
    channel_id: str
    title: str
    handle: str | None
    uploads_playlist_id: str


@dataclass(frozen=True)
class PlaylistVideo:
    video_id: str
    published_at: datetime | None
