"""The simulator served over real HTTP on 127.0.0.1, with the YouTube API's paths, envelopes
and error shapes, plus scriptable faults for tests and benchmarks.

    python -m ytmetrics_dagster.youtube.simulator --port 8765

Extension (simulator only): ``asOf=<ISO time>`` answers as of a past time, so demo
backfills can run. The real API has no such thing and the pipeline never sends it there.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from ytmetrics_dagster.youtube.simulator.catalog import (
    CHANNEL_COUNT,
    Catalog,
    VideoProfile,
    channel_handle,
    channel_id,
)

API_PREFIX = "/youtube/v3"
PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_IDS = 50

_QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


def _error_body(
    code: int, reason: str, message: str, domain: str = "youtube.api", status: str | None = None
) -> bytes:
    error: dict = {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    if status:
        error["status"] = status
    return json.dumps({"error": error}).encode()


# name -> (HTTP status, body bytes); "drop", "truncated" and "malformed" are handled apart.
FAULTS: dict[str, tuple[int, bytes]] = {
    # The real quotaExceeded body has no "status" field and HTML in its message.
    "quotaExceeded": (403, _error_body(403, "quotaExceeded", _QUOTA_MESSAGE, "youtube.quota")),
    "keyInvalid": (400, _error_body(400, "keyInvalid", "Bad Request", "usageLimits")),
    "accessNotConfigured": (
        403,
        _error_body(
            403,
            "accessNotConfigured",
            "YouTube Data API v3 has not been used in project 0 before or it is disabled.",
            "usageLimits",
            "PERMISSION_DENIED",
        ),
    ),
    "forbidden": (403, _error_body(403, "forbidden", "Forbidden", "global", "PERMISSION_DENIED")),
    "rateLimitExceeded": (
        403,
        _error_body(403, "rateLimitExceeded", "Rate limit exceeded.", "youtube.quota"),
    ),
    "userRateLimitExceeded": (
        403,
        _error_body(403, "userRateLimitExceeded", "User rate limit exceeded.", "usageLimits"),
    ),
    "429": (
        429,
        _error_body(429, "rateLimitExceeded", "Too many requests.", "global", "RESOURCE_EXHAUSTED"),
    ),
    "500": (500, _error_body(500, "backendError", "Backend Error", "global", "INTERNAL")),
    "502": (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "503": (
        503,
        _error_body(
            503, "backendError", "The service is currently unavailable.", "global", "UNAVAILABLE"
        ),
    ),
}
SPECIAL_FAULTS = {"drop", "truncated", "malformed"}


@dataclass
class SimulatorState:
    """Mutable knobs, shared by the handler threads."""

    catalog: Catalog = field(default_factory=Catalog)
    quota_limit: int = 10_000
    batch_quota_limit: int = 10_000
    latency_seconds: float = 0.0
    invalid_keys: set[str] = field(default_factory=lambda: {"INVALID-KEY"})
    scripted: dict[str, deque] = field(default_factory=dict)
    units_by_day: dict[str, int] = field(default_factory=dict)
    requests_by_method: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    # Tests move the simulated clock to make new uploads appear between sensor ticks.
    now_override: datetime | None = None
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def script(self, method: str, faults: list[str]) -> None:
        """Answer the next calls of ``method`` with these faults, in order, then normally."""
        unknown = [f for f in faults if f not in FAULTS and f not in SPECIAL_FAULTS and f != "ok"]
        if unknown:
            raise ValueError(f"unknown simulator faults: {unknown}")
        with self.lock:
            self.scripted.setdefault(method, deque()).extend(faults)

    def reset(self) -> None:
        with self.lock:
            self.scripted.clear()
            self.units_by_day.clear()
            self.requests_by_method.clear()
            self.quota_limit = 10_000
            self.batch_quota_limit = 10_000
            self.latency_seconds = 0.0
            self.max_in_flight = 0
            self.now_override = None

    def next_fault(self, method: str) -> str | None:
        with self.lock:
            self.requests_by_method[method] = self.requests_by_method.get(method, 0) + 1
            queue = self.scripted.get(method)
            if queue:
                fault = queue.popleft()
                return None if fault == "ok" else fault
        return None

    def charge(self, units: int, bucket: str = "default") -> bool:
        """Spend quota for today (Pacific) from a bucket; False when it is exhausted."""
        key = datetime.now(PACIFIC).date().isoformat() + (
            "" if bucket == "default" else ":" + bucket
        )
        limit = self.quota_limit if bucket == "default" else self.batch_quota_limit
        with self.lock:
            used = self.units_by_day.get(key, 0)
            if used + units > limit:
                return False
            self.units_by_day[key] = used + units
            return True

    def now(self) -> datetime:
        return self.now_override or datetime.now(UTC)

    def units_used_today(self) -> int:
        day = datetime.now(PACIFIC).date().isoformat()
        with self.lock:
            return self.units_by_day.get(day, 0)


def _video_resource(p: VideoProfile, parts: set[str], at: datetime) -> dict:
    item: dict = {"kind": "youtube#video", "etag": f"sim-{p.video_id}", "id": p.video_id}
    if "snippet" in parts:
        item["snippet"] = {
            "publishedAt": p.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "channelId": p.channel_id,
            "title": p.title,
            "description": "Simulated by ytmetrics-dagster; not real YouTube data.",
            "channelTitle": p.channel_title,
            "categoryId": "22",
            "liveBroadcastContent": "none",
        }
    if "contentDetails" in parts:
        d = p.duration_seconds
        item["contentDetails"] = {
            "duration": f"PT{d // 3600}H{d % 3600 // 60}M{d % 60}S"
            if d >= 3600
            else f"PT{d // 60}M{d % 60}S",
            "dimension": "2d",
            "definition": "hd",
            "caption": "false",
        }
    if "statistics" in parts:
        stats = p.statistics_at(at)
        assert stats is not None
        block = {"viewCount": str(stats.view_count), "favoriteCount": "0"}
        if stats.like_count is not None:
            block["likeCount"] = str(stats.like_count)
        if stats.comment_count is not None:
            block["commentCount"] = str(stats.comment_count)
        item["statistics"] = block
    return item


class _Handler(BaseHTTPRequestHandler):
    server: _SimulatorHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:
        pass

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json; charset=UTF-8"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-YTMetrics-Simulator", "1")
        self.end_headers()
        self.wfile.write(body)

    def _send_fault(self, fault: str) -> None:
        if fault == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if fault == "truncated":
            self._send(200, b'{"kind": "youtube#videoListResponse", "items": [{"id": "abc')
            return
        if fault == "malformed":
            self._send(200, b"<html>not json</html>", "text/html")
            return
        status, body = FAULTS[fault]
        ctype = "text/html" if body.startswith(b"<html") else "application/json; charset=UTF-8"
        self._send(status, body, ctype)

    def do_GET(self) -> None:
        self.server.state.enter()
        try:
            self._get()
        finally:
            self.server.state.leave()

    def _get(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        if url.path == "/_simulator/health":
            self._send(
                200,
                json.dumps(
                    {
                        "ok": True,
                        "units_used_today": state.units_used_today(),
                        "requests": dict(state.requests_by_method),
                    }
                ).encode(),
            )
            return
        if not url.path.startswith(API_PREFIX + "/"):
            self._send(404, _error_body(404, "notFound", "Not Found", "global"))
            return
        method = url.path[len(API_PREFIX) + 1 :]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if state.latency_seconds:
            time.sleep(state.latency_seconds)
        fault = state.next_fault(method)
        if fault:
            self._send_fault(fault)
            return
        key = self.headers.get("X-Goog-Api-Key") or query.get("key")
        if key in state.invalid_keys:
            self._send_fault("keyInvalid")
            return
        handlers = {
            "videos": self._videos,
            "videos:batchGetStats": self._batch_get_stats,
            "channels": self._channels,
            "playlistItems": self._playlist_items,
        }
        if method not in handlers:
            self._send(
                404, _error_body(404, "notFound", f"Method {method} is not simulated.", "global")
            )
            return
        handlers[method](state, query)

    def _list(
        self, kind: str, items: list, next_token: str | None = None, total: int | None = None
    ) -> None:
        body = {
            "kind": f"youtube#{kind}ListResponse",
            "etag": "simulated",
            "items": items,
            "pageInfo": {
                "totalResults": len(items) if total is None else total,
                "resultsPerPage": len(items),
            },
        }
        if next_token:
            body["nextPageToken"] = next_token
        self._send(200, json.dumps(body).encode())

    def _channels(self, state: SimulatorState, query: dict[str, str]) -> None:
        if "id" in query:
            wanted = [c for c in query["id"].split(",") if c]
        elif "forHandle" in query:
            wanted = [query["forHandle"]]
        else:
            self._send(
                400,
                _error_body(
                    400, "missingRequiredParameter", "No filter selected.", "youtube.parameter"
                ),
            )
            return
        if not state.charge(1):
            self._send_fault("quotaExceeded")
            return
        items = []
        for name in wanted:
            index = state.catalog.channel_index(
                name if name.startswith("UC") else "@" + name.lstrip("@")
            )
            if index is None:
                continue
            cid = channel_id(index)
            items.append(
                {
                    "kind": "youtube#channel",
                    "id": cid,
                    "snippet": {
                        "title": f"Simulated Channel {index:02d}",
                        "customUrl": channel_handle(index),
                    },
                    "contentDetails": {
                        "relatedPlaylists": {"likes": "", "uploads": "UU" + cid[2:]}
                    },
                }
            )
        self._list("channel", items)

    def _playlist_items(self, state: SimulatorState, query: dict[str, str]) -> None:
        playlist = query.get("playlistId", "")
        index = (
            state.catalog.channel_index("UC" + playlist[2:]) if playlist.startswith("UU") else None
        )
        if index is None or index >= CHANNEL_COUNT:
            self._send(
                404,
                _error_body(
                    404, "playlistNotFound", "The playlist cannot be found.", "youtube.playlistItem"
                ),
            )
            return
        try:
            size = min(50, max(0, int(query.get("maxResults", "5"))))
            offset = int(query.get("pageToken") or "0")
        except ValueError:
            self._send(
                400,
                _error_body(400, "invalidPageToken", "Invalid page token.", "youtube.parameter"),
            )
            return
        if not state.charge(1):
            self._send_fault("quotaExceeded")
            return
        uploads = state.catalog.uploads(index, state.now())
        page = uploads[offset : offset + size]
        items = [
            {
                "kind": "youtube#playlistItem",
                "contentDetails": {
                    "videoId": p.video_id,
                    "videoPublishedAt": p.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            }
            for p in page
        ]
        more = offset + size < len(uploads)
        self._list("playlistItem", items, str(offset + size) if more else None, total=len(uploads))

    def _videos(self, state: SimulatorState, query: dict[str, str]) -> None:
        resources = self._visible_videos(state, query, "default")
        if resources is not None:
            self._list("video", [_video_resource(p, parts, at) for p, parts, at in resources])

    def _batch_get_stats(self, state: SimulatorState, query: dict[str, str]) -> None:
        resources = self._visible_videos(state, query, "batchGetStats")
        if resources is None:
            return
        items = []
        for profile, parts, at in resources:
            item = _video_resource(profile, parts & {"statistics", "id"}, at)
            item["kind"] = "youtube#videoStats"
            if "snippet" in parts:
                item["snippet"] = {
                    "publishTime": profile.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                }
            items.append(item)
        self._send(
            200,
            json.dumps(
                {"kind": "youtube#batchGetStatsResponse", "etag": "simulated", "items": items}
            ).encode(),
        )

    def _visible_videos(self, state: SimulatorState, query: dict[str, str], bucket: str):
        """Validate, charge 1 unit from ``bucket``, and return (profile, parts, at) of the
        requested videos visible at ``at``; None after sending an error response."""
        parts = {p.strip() for p in query.get("part", "").split(",") if p.strip()}
        if not parts or not parts <= {"snippet", "contentDetails", "statistics", "id"}:
            self._send(
                400, _error_body(400, "invalidPart", "Invalid part parameter.", "youtube.part")
            )
            return
        ids = [i for i in query.get("id", "").split(",") if i]
        if len(ids) > MAX_IDS:
            self._send(
                400,
                _error_body(400, "invalidFilters", "Too many ids (max 50).", "youtube.parameter"),
            )
            return
        now = state.now()
        at = now
        if "asOf" in query:
            try:
                at = datetime.fromisoformat(query["asOf"])
            except ValueError:
                at = None
            if at is None or at.tzinfo is None or at > now:
                self._send(
                    400,
                    _error_body(
                        400,
                        "invalidParameter",
                        "asOf must be a past ISO time with offset.",
                        "youtube.parameter",
                    ),
                )
                return
        if not state.charge(1, bucket):
            self._send_fault("quotaExceeded")
            return None
        profiles = [state.catalog.profile(vid) for vid in ids]
        return [(p, parts, at) for p in profiles if p.is_visible(at)]


class _SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: SimulatorState


class SimulatorServer:
    """Run the simulator on ``host:port`` (port 0 picks a free one) in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: SimulatorState | None = None):
        self.state = state or SimulatorState()
        self._httpd = _SimulatorHTTPServer((host, port), _Handler)
        self._httpd.state = self.state
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = self._httpd.server_address[0]
        return f"http://{host}:{self.port}{API_PREFIX}"

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="youtube-simulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_shared: SimulatorServer | None = None
_shared_lock = threading.Lock()


def shared_simulator_url() -> str:
    """A simulator for this process, started on first use. Every simulator answers the same,
    so separate processes (Dagster run workers) may each run their own."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SimulatorServer().start()
        return _shared.base_url
