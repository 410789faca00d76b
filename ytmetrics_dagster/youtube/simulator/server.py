"""The simulator served over real HTTP on 127.0.0.1, with the YouTube API's paths, envelopes
and error shapes (``api.py``), plus scriptable faults for tests and benchmarks.

    python -m ytmetrics_dagster.youtube.simulator --port 8765

Everything it serves is SIMULATED: every response carries the ``X-YTMetrics-Simulator``
header.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ytmetrics_dagster.youtube.simulator import api
from ytmetrics_dagster.youtube.simulator.errors import (
    FAULTS,
    HOSTILE_FAULTS,
    HTML_TYPE,
    JSON_TYPE,
    SPECIAL_FAULTS,
    echo_key,
    not_found,
    retry_after_seconds,
)
from ytmetrics_dagster.youtube.simulator.state import PACIFIC, SimulatorState

API_PREFIX = "/youtube/v3"
SIMULATOR_HEADER = "X-YTMetrics-Simulator"

__all__ = [
    "API_PREFIX",
    "FAULTS",
    "PACIFIC",
    "SPECIAL_FAULTS",
    "SimulatorServer",
    "SimulatorState",
    "shared_simulator_url",
]


class _Handler(BaseHTTPRequestHandler):
    server: _SimulatorHTTPServer
    protocol_version = "HTTP/1.1"
    # Belt and braces with the single write in _send: a response split over two writes on a
    # kept-alive connection waits for the client's delayed ACK (~40 ms) under Nagle.
    disable_nagle_algorithm = True

    def log_message(self, format, *args) -> None:
        pass

    def _send(
        self, status: int, body: bytes, content_type: str = JSON_TYPE, extra: str = ""
    ) -> None:
        """Status line, headers and body in one write (see ``disable_nagle_algorithm``)."""
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: {content_type}\r\n" + extra + f"Content-Length: {len(body)}\r\n"
            f"{SIMULATOR_HEADER}: 1\r\n"
            f"Date: {self.date_time_string()}\r\n"
            "Server: ytmetrics-simulator\r\n"
            + ("Connection: close\r\n" if self.close_connection else "")
            + "\r\n"
        )
        self.wfile.write(head.encode("latin-1") + body)

    def _send_fault(self, fault: str, key: str | None) -> None:
        if fault == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if fault == "truncated":
            self._send(200, b'{"kind": "youtube#videoListResponse", "items": [{"id": "abc')
            return
        if fault == "malformed":
            self._send(200, b"<html>not json</html>", HTML_TYPE)
            return
        seconds = retry_after_seconds(fault)
        if seconds is not None:
            status, body = FAULTS["429"]
            self._send(status, body, extra=f"Retry-After: {seconds}\r\n")
            return
        if fault in HOSTILE_FAULTS:
            status, body, ctype = echo_key(fault, key or "")
            self._send(status, body, ctype)
            return
        status, body = FAULTS[fault]
        self._send(status, body, HTML_TYPE if body.startswith(b"<html") else JSON_TYPE)

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
            health = {
                "ok": True,
                "units_used_today": state.units_used_today(),
                "requests": dict(state.requests_by_method),
            }
            self._send(200, json.dumps(health).encode())
            return
        if not url.path.startswith(API_PREFIX + "/"):
            self._send(*not_found("Not Found"))
            return
        method = url.path[len(API_PREFIX) + 1 :]
        query = parse_qs(url.query, keep_blank_values=True)
        if state.latency_seconds:
            state.delay()
        key = self.headers.get("X-Goog-Api-Key") or (query.get("key") or [None])[-1]
        fault = state.next_fault(method)
        if fault:
            self._send_fault(fault, key)
            return
        if key in state.invalid_keys:
            self._send_fault("keyInvalid", key)
            return
        if not api.is_method(method):
            self._send(*not_found(f"Method {method} is not simulated."))
            return
        self._send(*api.answer(state, method, query))


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
    def root_url(self) -> str:
        """What Google's client calls the API endpoint (its paths start with youtube/v3/)."""
        return f"http://{self._httpd.server_address[0]}:{self.port}/"

    @property
    def base_url(self) -> str:
        return self.root_url.rstrip("/") + API_PREFIX

    def start(self) -> SimulatorServer:
        """Serves from a thread of this process; ``stop`` returns within 50 ms (the loop's poll
        interval: socketserver's default of 0.5 s made each stop wait that long)."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="youtube-simulator",
            daemon=True,
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
