"""The resources the simulator serves, built in the API's shapes (property names, order, JSON
types: counters are strings, times RFC 3339 in UTC, durations ISO 8601), one ``part`` at a time.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta

from ytmetrics_dagster.youtube.simulator.world import (
    WORLD_START,
    SimulatedWorld,
    VideoProfile,
    channel_handle,
    channel_id,
    channel_title,
    uploads_playlist_id,
)

SIMULATED_NOTE = "Simulated by ytmetrics-dagster; not real YouTube data."


def etag(value) -> str:
    """27 characters of URL-safe base64, like the API's etags; a function of the content, so it
    changes exactly when the resource does."""
    digest = hashlib.sha1(json.dumps(value, sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: int) -> str:
    """PT1H2M3S, PT21M3S, PT1H5S, PT0S: YouTube leaves out zero components."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "PT" + (text or "0S")


def _finish(kind: str, resource_id: str, body: dict) -> dict:
    # kind, etag and id come with every part, as in the API.
    return {"kind": kind, "etag": etag([resource_id, body]), "id": resource_id, **body}


def video(p: VideoProfile, parts: set[str], at: datetime) -> dict:
    body: dict = {}
    if "snippet" in parts:
        body["snippet"] = {
            "publishedAt": rfc3339(p.published_at),
            "channelId": p.channel_id,
            "title": p.title,
            "description": SIMULATED_NOTE,
            "channelTitle": p.channel_title,
            "categoryId": "22",
            "liveBroadcastContent": "none",
            "localized": {"title": p.title, "description": SIMULATED_NOTE},
        }
    if "contentDetails" in parts:
        body["contentDetails"] = {
            "duration": iso_duration(p.duration_seconds),
            "dimension": "2d",
            "definition": "hd",
            "caption": "false",
            "licensedContent": False,
            "contentRating": {},
            "projection": "rectangular",
        }
    if "status" in parts:
        body["status"] = {
            "uploadStatus": "processed",
            "privacyStatus": "public",
            "license": "youtube",
            "embeddable": True,
            "publicStatsViewable": True,
            "madeForKids": False,
        }
    if "statistics" in parts:
        body["statistics"] = _counters(p, at, favorite=True)
    return _finish("youtube#video", p.video_id, body)


def video_stat(p: VideoProfile, parts: set[str], at: datetime) -> dict:
    """A ``videos:batchGetStats`` VideoStat: three counters (no favoriteCount), the publish
    time as ``snippet.publishTime`` and the duration, which the discovery document types as a
    google-duration (protobuf JSON: "1263s"), not videos.list's ISO 8601."""
    body: dict = {}
    if "snippet" in parts:
        body["snippet"] = {"publishTime": rfc3339(p.published_at)}
    if "statistics" in parts:
        body["statistics"] = _counters(p, at, favorite=False)
    if "contentDetails" in parts:
        body["contentDetails"] = {"duration": f"{p.duration_seconds}s"}
    return _finish("youtube#videoStats", p.video_id, body)


def _counters(p: VideoProfile, at: datetime, *, favorite: bool) -> dict:
    stats = p.statistics_at(at)
    if stats is None:
        raise ValueError(f"video {p.video_id} is not visible at {at}")
    block = {"viewCount": str(stats.view_count)}
    # Absent, never "0", when the owner hides likes or turns comments off.
    if stats.like_count is not None:
        block["likeCount"] = str(stats.like_count)
    if favorite:
        block["favoriteCount"] = "0"  # deprecated, always 0, still sent by videos.list
    if stats.comment_count is not None:
        block["commentCount"] = str(stats.comment_count)
    return block


# Simulated channels that hide their subscriber count, as some real ones do.
HIDDEN_SUBSCRIBER_CHANNELS = frozenset({7, 19})


def channel(world: SimulatedWorld, index: int, parts: set[str], at: datetime) -> dict:
    cid = channel_id(index)
    title = channel_title(index)
    body: dict = {}
    if "snippet" in parts:
        body["snippet"] = {
            "title": title,
            "description": SIMULATED_NOTE,
            "customUrl": channel_handle(index),
            "publishedAt": rfc3339(WORLD_START - timedelta(days=30 * (index + 1))),
            "localized": {"title": title, "description": SIMULATED_NOTE},
        }
    if "contentDetails" in parts:
        body["contentDetails"] = {
            "relatedPlaylists": {"likes": "", "uploads": uploads_playlist_id(index)}
        }
    if "statistics" in parts:
        uploads = world.uploads(index, at)
        views = sum(s.view_count for p in uploads if (s := p.statistics_at(at)) is not None)
        hidden = index in HIDDEN_SUBSCRIBER_CHANNELS
        body["statistics"] = {
            "viewCount": str(views),
            # a channel that hides its count gets none (the API's answer then is meaningless)
            **(
                {} if hidden else {"subscriberCount": str(_three_significant_figures(views // 150))}
            ),
            "hiddenSubscriberCount": hidden,
            "videoCount": str(len(uploads)),
        }
    if "status" in parts:
        body["status"] = {
            "privacyStatus": "public",
            "isLinked": True,
            "longUploadsStatus": "longUploadsUnspecified",
            "madeForKids": False,
        }
    return _finish("youtube#channel", cid, body)


def _three_significant_figures(n: int) -> int:
    """YouTube shows subscriber counts rounded down to three significant figures."""
    if n < 1000:
        return n
    scale = 10 ** (len(str(n)) - 3)
    return n // scale * scale


def playlist_item_id(playlist_id: str, video_id: str) -> str:
    """The API's playlist item ids are base64 of ``<playlistId>.<videoId>``."""
    return base64.b64encode(f"{playlist_id}.{video_id}".encode()).decode()


def parse_playlist_item_id(item_id: str) -> tuple[str, str] | None:
    try:
        playlist_id, _, video_id = base64.b64decode(item_id, validate=True).decode().partition(".")
    except (ValueError, UnicodeDecodeError):
        return None
    return (playlist_id, video_id) if playlist_id and video_id else None


def playlist_item(p: VideoProfile, index: int, position: int, parts: set[str]) -> dict:
    playlist_id = uploads_playlist_id(index)
    body: dict = {}
    if "snippet" in parts:
        body["snippet"] = {
            "publishedAt": rfc3339(p.published_at),
            "channelId": p.channel_id,
            "title": p.title,
            "description": SIMULATED_NOTE,
            "channelTitle": p.channel_title,
            "playlistId": playlist_id,
            "position": position,
            "resourceId": {"kind": "youtube#video", "videoId": p.video_id},
            "videoOwnerChannelTitle": p.channel_title,
            "videoOwnerChannelId": p.channel_id,
        }
    if "contentDetails" in parts:
        body["contentDetails"] = {
            "videoId": p.video_id,
            "videoPublishedAt": rfc3339(p.published_at),
        }
    if "status" in parts:
        body["status"] = {"privacyStatus": "public"}
    return _finish("youtube#playlistItem", playlist_item_id(playlist_id, p.video_id), body)


def page_token(offset: int) -> str:
    """An opaque token in the API's style (base64 of a small protobuf holding the offset)."""
    varint = bytearray()
    n = offset
    while True:
        byte, n = n & 0x7F, n >> 7
        varint.append(byte | (0x80 if n else 0))
        if not n:
            break
    inner = b"PT:" + base64.b64encode(b"\x08" + bytes(varint)).rstrip(b"=")
    return (
        base64.urlsafe_b64encode(b"\x10\x00\x1a" + bytes([len(inner)]) + inner).decode().rstrip("=")
    )


def page_offset(token: str) -> int | None:
    """The offset a ``page_token`` holds, or None for anything that is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if raw[:3] != b"\x10\x00\x1a" or raw[3] != len(raw) - 4 or raw[4:7] != b"PT:":
            return None
        inner = raw[7:]
        payload = base64.b64decode(inner + b"=" * (-len(inner) % 4))
    except (ValueError, IndexError):
        return None
    if not payload or payload[0] != 0x08:
        return None
    offset, shift = 0, 0
    for byte in payload[1:]:
        offset |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return offset if page_token(offset) == token else None


def list_response(
    kind: str,
    items: list[dict],
    *,
    per_page: int,
    total: int | None = None,
    next_token: str | None = None,
    prev_token: str | None = None,
    omit_empty_items: bool = False,
) -> dict:
    body: dict = {"kind": f"youtube#{kind}ListResponse", "etag": ""}
    if next_token:
        body["nextPageToken"] = next_token
    if prev_token:
        body["prevPageToken"] = prev_token
    if items or not omit_empty_items:
        body["items"] = items
    body["pageInfo"] = {
        "totalResults": len(items) if total is None else total,
        "resultsPerPage": per_page,
    }
    body["etag"] = etag({k: v for k, v in body.items() if k != "etag"})
    return body
