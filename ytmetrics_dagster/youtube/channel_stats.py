"""A channel's public statistics as ``channels.list`` (part=statistics) returns them."""

from __future__ import annotations

from dataclasses import dataclass

CHANNEL_STATISTICS_FIELDS = (
    "items(id,statistics(viewCount,subscriberCount,hiddenSubscriberCount,videoCount))"
)


@dataclass(frozen=True)
class ChannelStatistics:
    channel_id: str
    view_count: int
    video_count: int
    # None when the channel hides it: YouTube then sends no count (or one to ignore)
    subscriber_count: int | None
    hidden_subscribers: bool


def parse_channel_statistics(item: dict) -> ChannelStatistics:
    stats = item["statistics"]
    hidden = bool(stats.get("hiddenSubscriberCount", False))
    subscribers = stats.get("subscriberCount")
    return ChannelStatistics(
        channel_id=str(item["id"]),
        view_count=int(stats["viewCount"]),
        video_count=int(stats["videoCount"]),
        subscriber_count=None if hidden or subscribers is None else int(subscribers),
        hidden_subscribers=hidden,
    )
