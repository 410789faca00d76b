"""One place that turns what a user typed into a YouTube video id.

Accepted: a bare 11-character id, watch URLs (www., m., music.), youtu.be short links,
/shorts/, /live/, /embed/ and /v/ paths, and youtube-nocookie.com embeds.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

VIDEO_ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")

_WATCH_HOSTS = {
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "music.youtube.com",
}
_EMBED_HOSTS = _WATCH_HOSTS | {"youtube-nocookie.com", "www.youtube-nocookie.com"}
_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
_PATH_PREFIXES = ("shorts", "live", "embed", "v")
_MAX_INPUT = 2048


class InvalidVideoInput(ValueError):
    """The input is neither a YouTube video id nor a YouTube video URL."""

    def __init__(self, raw: str, why: str):
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        super().__init__(f"not a YouTube video id or URL: {shown!r} ({why})")
        self.raw = raw
        self.why = why


def is_video_id(value: str) -> bool:
    return bool(VIDEO_ID_RE.match(value))


def parse_video_id(raw: str) -> str:
    """Return the 11-character video id named by ``raw`` or raise InvalidVideoInput."""
    if not isinstance(raw, str):
        raise InvalidVideoInput(str(raw), "expected text")
    text = raw.strip()
    if not text:
        raise InvalidVideoInput(raw, "empty")
    if len(text) > _MAX_INPUT:
        raise InvalidVideoInput(raw, "too long")
    if is_video_id(text):
        return text
    if "://" not in text and text.split("/", 1)[0].lower() in (_EMBED_HOSTS | _SHORT_HOSTS):
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError as err:
        raise InvalidVideoInput(raw, "malformed URL") from err
    if parts.scheme not in ("http", "https"):
        raise InvalidVideoInput(raw, "expected an 11-character id or an http(s) YouTube URL")
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]

    candidate: str | None = None
    if host in _SHORT_HOSTS:
        candidate = segments[0] if len(segments) == 1 else None
    elif host in _EMBED_HOSTS:
        if segments == ["watch"]:
            values = parse_qs(parts.query).get("v", [])
            candidate = values[0] if len(values) == 1 else None
        elif len(segments) == 2 and segments[0] in _PATH_PREFIXES:
            if segments[0] != "embed" and host.endswith("youtube-nocookie.com"):
                candidate = None
            else:
                candidate = segments[1]
    else:
        raise InvalidVideoInput(raw, f"host {host or '(none)'!r} is not YouTube")

    if candidate is None or not is_video_id(candidate):
        raise InvalidVideoInput(raw, "no video id in this URL")
    return candidate
