"""The warehouse's reachability as this process last saw it, logged once per change.

While the warehouse is down every sensor tick and every request tries it again; logging each
failure buried the one fact that matters (down since when, back when) under thousands of lines
a minute. Each process keeps the last state it saw per warehouse and logs a line only when it
changes: "warehouse unavailable: <why>" once, then "warehouse reachable again after N s".
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("ytmetrics.warehouse")

_lock = threading.Lock()
# url (password hidden) -> monotonic time it went down
_down_since: dict[str, float] = {}


def report_down(where: str, why: str) -> bool:
    """The warehouse at ``where`` could not be reached. True (and one log line) if it was
    reachable at the last look."""
    with _lock:
        if where in _down_since:
            return False
        _down_since[where] = time.monotonic()
    log.warning("warehouse unavailable (%s): %s; retrying quietly until it is back", where, why)
    return True


def report_up(where: str) -> bool:
    """The warehouse at ``where`` answered. True (and one log line) if it was down."""
    with _lock:
        since = _down_since.pop(where, None)
    if since is None:
        return False
    log.warning("warehouse reachable again (%s) after %.0f s", where, time.monotonic() - since)
    return True


def is_down(where: str) -> bool:
    with _lock:
        return where in _down_since
