"""One place that turns what a user typed into a YouTube video or channel reference.

Videos: a bare 11-character id, watch URLs (www., m., music.), youtu.be short links,
/shorts/, /live/, /embed/ and /v/ paths, youtube-nocookie.com embeds.
Channels: a ``UC`` + 22-character channel id, an ``@handle``, and channel URLs
(/channel/UC…, /@handle).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

VIDEO_ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")
CHANNEL_ID_RE = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
# YouTube handles: 3-30 characters of letters, digits, '_', '-' and '.'
HANDLE_RE = re.compile(r"^@[A-Za-z0-9_.-]{3,30}$")

_WATCH_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
_EMBED_HOSTS = _WATCH_HOSTS | {"youtube-nocookie.com", "www.youtube-nocookie.com"}
_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
_PATH_PREFIXES = ("shorts", "live", "embed", "v")
_MAX_INPUT = 2048


class InvalidVideoInput(ValueError):
    """The input is not a YouTube video (or channel) reference we accept."""

    def __init__(self, raw: str, why: str, expected: str = "a YouTube video id or URL"):
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        super().__init__(f"not {expected}: {shown!r} ({why})")
        self.raw = raw
        self.why = why


@dataclass(frozen=True)
class VideoRef:
    video_id: str


@dataclass(frozen=True)
class ChannelRef:
    """Either ``channel_id`` (UC…) or ``handle`` (@…) is set."""

    channel_id: str | None = None
    handle: str | None = None

    @property
    def label(self) -> str:
        return self.channel_id or self.handle or ""


def is_video_id(value: str) -> bool:
    return bool(VIDEO_ID_RE.match(value))


def _split_url(raw: str, text: str, expected: str):
    if "://" not in text and text.split("/", 1)[0].lower() in (_EMBED_HOSTS | _SHORT_HOSTS):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError as err:
        raise InvalidVideoInput(raw, "malformed URL", expected) from err
    if parts.scheme not in ("http", "https"):
        raise InvalidVideoInput(raw, "neither an id nor an http(s) YouTube URL", expected)
    return parts, host, [s for s in parts.path.split("/") if s]


def _clean(raw: str, expected: str) -> str:
    if not isinstance(raw, str):
        raise InvalidVideoInput(str(raw), "expected text", expected)
    text = raw.strip()
    if not text:
        raise InvalidVideoInput(raw, "empty", expected)
    if len(text) > _MAX_INPUT:
        raise InvalidVideoInput(raw, "too long", expected)
    if any(ord(c) < 32 or c.isspace() for c in text):
        raise InvalidVideoInput(raw, "contains whitespace or control characters", expected)
    return text


def parse_reference(
    raw: str, expected: str = "a YouTube video or channel id, handle or URL"
) -> VideoRef | ChannelRef:
    """Parse any accepted input form into a video or a channel reference."""
    text = _clean(raw, expected)
    if is_video_id(text):
        return VideoRef(text)
    if CHANNEL_ID_RE.match(text):
        return ChannelRef(channel_id=text)
    if HANDLE_RE.match(text):
        return ChannelRef(handle=text)
    parts, host, segments = _split_url(raw, text, expected)

    candidate: str | None = None
    if host in _SHORT_HOSTS:
        candidate = segments[0] if len(segments) == 1 else None
    elif host in _EMBED_HOSTS:
        if segments == ["watch"]:
            values = parse_qs(parts.query).get("v", [])
            candidate = values[0] if len(values) == 1 else None
        elif len(segments) == 2 and segments[0] in _PATH_PREFIXES:
            if segments[0] == "embed" or not host.endswith("youtube-nocookie.com"):
                candidate = segments[1]
        elif host in _WATCH_HOSTS and segments:
            if segments[0] == "channel" and len(segments) >= 2 and CHANNEL_ID_RE.match(segments[1]):
                return ChannelRef(channel_id=segments[1])
            if HANDLE_RE.match(segments[0]):
                return ChannelRef(handle=segments[0])
    else:
        raise InvalidVideoInput(raw, f"host {host or '(none)'!r} is not YouTube", expected)

    if candidate is None or not is_video_id(candidate):
        raise InvalidVideoInput(raw, "no video or channel in this URL", expected)
    return VideoRef(candidate)


def parse_video_id(raw: str) -> str:
    """Return the 11-character video id named by ``raw`` or raise InvalidVideoInput."""
    ref = parse_reference(raw, "a YouTube video id or URL")
    if not isinstance(ref, VideoRef):
        raise InvalidVideoInput(
            raw, "this is a channel, not a video (channels are tracked with track-channel)"
        )
    return ref.video_id


def parse_channel(raw: str) -> ChannelRef:
    ref = parse_reference(raw, "a YouTube channel id, handle or URL")
    if not isinstance(ref, ChannelRef):
        raise InvalidVideoInput(
            raw, "this is a video; use `ytmetrics register`", "a YouTube channel id, handle or URL"
        )
    return ref


def parse_video_inputs(inputs: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Parse every input: ((raw, video_id) pairs, error messages). Callers queue nothing
    unless the error list is empty."""
    parsed, errors = [], []
    for raw in inputs:
        try:
            parsed.append((raw, parse_video_id(raw)))
        except InvalidVideoInput as err:
            errors.append(str(err))
    return parsed, errors
