"""Turn YouTube Data API v3 JSON into our values. Pure functions, tested on recorded responses.

The API reports counters as JSON strings. An absent ``likeCount`` means likes are hidden and an
absent ``commentCount`` means comments are off: both become None, never 0.
"""

from __future__ import annotations

import re
from datetime import datetime

from ytmetrics_dagster.youtube.models import (
    ChannelInfo,
    PlaylistVideo,
    VideoDetails,
    VideoStatistics,
)

_DURATION_RE = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def _count(value: object) -> int | None:
    if value is None:
        return None
    count = int(str(value))
    if count < 0:
        raise ValueError(f"negative counter {value!r}")
    return count


def parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_duration(value: str | None) -> int | None:
    """ISO 8601 durations as YouTube writes them (PT1H2M3S, P1DT2H, P0D) to seconds."""
    if not value:
        return None
    match = _DURATION_RE.match(value)
    if not match:
        return None
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    return parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]


def parse_statistics(item: dict) -> VideoStatistics:
    stats = item.get("statistics") or {}
    view_count = _count(stats.get("viewCount"))
    if view_count is None:
        # viewCount is always present for a public video; inventing a 0 would fabricate data.
        raise ValueError(f"video {item.get('id')!r} has no statistics.viewCount")
    return VideoStatistics(
        video_id=item["id"],
        view_count=view_count,
        like_count=_count(stats.get("likeCount")),
        comment_count=_count(stats.get("commentCount")),
    )


def parse_video_details(item: dict) -> VideoDetails:
    snippet = item.get("snippet") or {}
    content = item.get("contentDetails") or {}
    return VideoDetails(
        video_id=item["id"],
        title=snippet.get("title") or "",
        channel_id=snippet.get("channelId"),
        channel_title=snippet.get("channelTitle"),
        published_at=parse_datetime(snippet.get("publishedAt")),
        duration_seconds=parse_duration(content.get("duration")),
        statistics=parse_statistics(item) if "statistics" in item else None,
    )


def parse_channel(item: dict) -> ChannelInfo:
    snippet = item.get("snippet") or {}
    uploads = ((item.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
    if not uploads:
        raise ValueError(f"channel {item.get('id')!r} has no uploads playlist")
    return ChannelInfo(
        channel_id=item["id"],
        title=snippet.get("title") or "",
        handle=snippet.get("customUrl"),
        uploads_playlist_id=uploads,
    )


def parse_playlist_video(item: dict) -> PlaylistVideo:
    details = item.get("contentDetails") or {}
    video_id = details.get("videoId") or ((item.get("snippet") or {}).get("resourceId") or {}).get(
        "videoId"
    )
    if not video_id:
        raise ValueError("playlist item without a videoId")
    return PlaylistVideo(
        video_id=video_id, published_at=parse_datetime(details.get("videoPublishedAt"))
    )
