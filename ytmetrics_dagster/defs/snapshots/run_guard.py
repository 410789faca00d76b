"""A stopped run stops: its worker sends no API call and writes nothing once the run is
terminated (UI Terminate: CANCELING/CANCELED) or failed from outside (run monitoring: max
runtime exceeded, a failed health check: FAILURE while the worker still runs).

Dagster's termination interrupts the worker's main thread, but not the threads fetching
batches, and a worker whose code server is gone never gets the interrupt at all. Worse, Dagster
turns an interrupt of a step that has a RetryPolicy into a retry request ("respect retry policy
when interrupts occur"), so a terminated snapshot step fetched the hour again. So:

- the step asks the instance itself, before each API attempt (at most once a second) and
  before its write, whether its run is still wanted;
- a stop (that answer, or Dagster's interrupt) becomes ``RunStoppedError``: a ``Failure`` with
  ``allow_retries=False``, which no RetryPolicy retries. A run whose step fails while it is
  CANCELING ends CANCELED (Dagster's rule), one failed by run monitoring stays FAILURE.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from sqlalchemy import Engine

from ytmetrics_dagster.defs.tags import MAX_RUNTIME_TAG
from ytmetrics_dagster.warehouse import quota as quota_store

STOPPED = {
    dg.DagsterRunStatus.CANCELING,
    dg.DagsterRunStatus.CANCELED,
    dg.DagsterRunStatus.FAILURE,
}
ENDED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.SUCCESS}
CHECK_INTERVAL_SECONDS = 1.0
# An attempt stops its API calls this long before run monitoring would fail it for its runtime.
RUNTIME_MARGIN = timedelta(seconds=60)


class RunStoppedError(dg.Failure):
    """The run was terminated or failed from outside; this worker stops, for good."""

    def __init__(self, message: str):
        super().__init__(description=message, allow_retries=False)


@contextlib.contextmanager
def stops_are_final() -> Iterator[None]:
    """Dagster's interrupt (a termination) ends the step without a retry."""
    try:
        yield
    except (DagsterExecutionInterruptedError, KeyboardInterrupt):
        raise RunStoppedError("the run was interrupted (terminated); not retried") from None


class RunGuard:
    """Asks the instance whether the run is still wanted (throttled; thread-safe)."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str):
        self._instance = instance
        self._run_id = run_id
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._status: dg.DagsterRunStatus | None = None

    def status(self, *, fresh: bool = False) -> dg.DagsterRunStatus | None:
        with self._lock:
            if fresh or time.monotonic() - self._checked_at >= CHECK_INTERVAL_SECONDS:
                try:
                    run = self._instance.get_run_by_id(self._run_id)
                except Exception:  # Dagster's storage unreachable: not a reason to stop
                    return self._status
                self._status = run.status if run else None
                self._checked_at = time.monotonic()
            return self._status

    def check(self, before: str = "the next API call", *, fresh: bool = False) -> None:
        status = self.status(fresh=fresh)
        if status in STOPPED:
            raise RunStoppedError(
                f"run {self._run_id[:8]} is {status.value}: stopped before {before}"
            )

    def __call__(self) -> None:
        self.check()


def attempt_deadline(
    context: dg.AssetExecutionContext, hour_deadline: datetime | None, now: datetime | None = None
) -> datetime | None:
    """The earlier of the hour's API deadline and the run's max runtime (less a margin): an
    attempt never waits or calls past the point where run monitoring would fail it. ``now``:
    the asset's clock (ClockResource), on which both deadlines are read; default the real one."""
    raw = context.run.tags.get(MAX_RUNTIME_TAG)
    if not raw or not raw.isdigit() or int(raw) <= 0:
        return hour_deadline
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record and record.start_time else time.time()
    runtime_end = datetime.fromtimestamp(started, UTC) + timedelta(seconds=int(raw))
    runtime_end -= RUNTIME_MARGIN
    real_now = datetime.now(UTC)
    now = now or real_now
    # the run's start is on the real clock: read its end on the asset's
    runtime_end += now - real_now
    if runtime_end < now + RUNTIME_MARGIN:
        # a runtime too short to plan by (tests, a deliberate bound): run monitoring's own
        # bound applies, and the run guard stops the worker once the run is failed
        return hour_deadline
    return runtime_end if hour_deadline is None else min(hour_deadline, runtime_end)


def release_ended_runs(instance: dg.DagsterInstance, engine: Engine, now: datetime) -> int:
    """Release the quota reservations of every run that ended while holding one (a killed
    run's finally never ran). Called before a new reservation, so a retry never waits for
    the release sensor. Returns the reservations released."""
    holders = quota_store.open_reservation_runs(engine, now)
    if not holders:
        return 0
    ended = [
        r.run_id
        for r in instance.get_runs(filters=dg.RunsFilter(run_ids=holders, statuses=list(ENDED)))
    ]
    return quota_store.release_for_runs(engine, ended)
