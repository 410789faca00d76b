"""A sliding-window rate limit shared by the threads of a process.

``videos:batchGetStats`` is limited to 600 calls a minute. Source: issue #19, quoting the
method's REST reference (https://developers.google.com/youtube/v3/docs/videos/batchGetStats);
the method's own bucket of 10,000 units a day is in the API's revision history, 3 June 2026
(https://developers.google.com/youtube/v3/revision_history). The per-minute figure was not
found in the documentation available to this project when it was written, so it is a setting
(``YouTubeClient(batch_stats_per_minute=...)``), not a constant buried in a call.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

BATCH_GET_STATS_CALLS_PER_MINUTE = 600


class SlidingWindowLimit:
    """At most ``calls`` acquisitions in any ``period`` seconds."""

    def __init__(
        self,
        calls: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        if calls < 1 or period <= 0:
            raise ValueError("a rate limit needs at least one call in a positive period")
        self.calls = calls
        self.period = period
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Seconds until a call may go; 0 means it was granted (and counted) now."""
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - self.period:
                self._sent.popleft()
            if len(self._sent) < self.calls:
                self._sent.append(now)
                return 0.0
            return self._sent[0] + self.period - now

    def acquire(self, sleep: Callable[[float], bool]) -> None:
        """Block until a call may go. ``sleep(seconds)`` waits and returns True to give up
        (the fetch was stopped); it may also raise (a deadline)."""
        while True:
            wait = self.wait_time()
            if wait <= 0:
                return
            if sleep(wait):
                raise InterruptedError("stopped while waiting for the rate limit")
