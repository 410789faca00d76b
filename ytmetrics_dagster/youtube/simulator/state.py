"""The simulator's mutable knobs (quota, latency, clock, scripted faults), shared by the
handler threads."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ytmetrics_dagster.youtube.simulator.errors import FAULTS, SPECIAL_FAULTS, retry_after_seconds
from ytmetrics_dagster.youtube.simulator.world import SimulatedWorld

PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass
class SimulatorState:
    world: SimulatedWorld = field(default_factory=SimulatedWorld)
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
    # requests received (counted on arrival, before any latency)
    arrived: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # notified whenever ``latency_seconds`` is set (``delay``)
    _latency_set: threading.Condition = field(
        default_factory=threading.Condition, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        latency_set = self.__dict__.get("_latency_set")
        if name == "latency_seconds" and latency_set is not None:
            with latency_set:
                latency_set.notify_all()

    def delay(self) -> None:
        """Hold a request for ``latency_seconds`` from now, the latency in force: lowering it
        (or ``reset``) releases the requests waiting at once, with their answers."""
        started = time.monotonic()
        with self._latency_set:
            while (left := started + self.latency_seconds - time.monotonic()) > 0:
                self._latency_set.wait(left)

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.arrived += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def script(self, method: str, faults: list[str]) -> None:
        """Answer the next calls of ``method`` with these faults, in order, then normally."""
        unknown = [
            f
            for f in faults
            if f not in FAULTS
            and f not in SPECIAL_FAULTS
            and f != "ok"
            and retry_after_seconds(f) is None
        ]
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
            self.arrived = 0
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
