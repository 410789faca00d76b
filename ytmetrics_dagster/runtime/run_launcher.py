"""A DefaultRunLauncher whose run workers run monitoring can check (single-host deployments).

Dagster's run monitoring detects a dead run worker only through the run launcher's
``check_run_worker_health``, and ``DefaultRunLauncher`` (a process per run, started by the code
server) does not implement it. While the code server that started a worker lives, it notices the
worker's death itself and fails the run; but when the code server goes too (``make run`` stopped
or killed mid-run, a crash, a reboot), nobody is left to notice: the run stays STARTED and keeps
its ``youtube_api`` pool slot, so every later API-bound run waits in the queue.

``LocalRunLauncher`` adds the missing check for workers on this machine: the worker reports its
pid in the run's event log ("Started process for run (pid: N)"); the worker is alive if that
process still exists and was created before that event (a newer process with the same pid is a
reused pid, not the worker). Production deployments use DockerRunLauncher or K8sRunLauncher,
which check their containers or Kubernetes jobs themselves.

A stopped run stops (issue #22): ``terminate`` asks the code server to interrupt the worker as
``DefaultRunLauncher`` does, and then makes sure of it: a worker on this machine still alive
after a grace period (its run guard stops it within a second of seeing the run CANCELING or
FAILURE; the grace covers its clean-up) is killed. Run monitoring terminates a run that exceeded
its max runtime this way too, also when the code server that started the worker is gone (it
cannot pass the interrupt on then).
"""

from __future__ import annotations

import json
import logging
import threading
import time

import psutil
from dagster import DagsterEventType, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG

from ytmetrics_dagster.settings import load_settings

STARTED_PROCESS_MESSAGE = "Started process for run"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# The worker writes its pid event a moment after it starts; a process created later than this
# after that event cannot be the worker.
CREATE_TIME_SLACK_SECONDS = 2.0
# How long a terminated run's worker has to stop by itself before it is killed:
# YTMETRICS_TERMINATE_GRACE_SECONDS (settings.py, 15 s by default).

log = logging.getLogger(__name__)


class LocalRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher + run worker health checks for workers on this machine."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        if not _launched_on_this_host(run):
            # Another machine's process table cannot be read from here; max_runtime still applies.
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, "run worker is on another host; not inspected"
            )
        started = self._worker_started_event(run.run_id)
        if started is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker has not reported a pid")
        pid, reported_at = started
        try:
            process = psutil.Process(pid)
            alive = process.status() != psutil.STATUS_ZOMBIE
            created = process.create_time()
        except psutil.NoSuchProcess:
            return CheckRunHealthResult(
                WorkerStatus.FAILED, f"run worker process {pid} is gone", run_worker_id=str(pid)
            )
        if not alive or created > reported_at + CREATE_TIME_SLACK_SECONDS:
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"run worker process {pid} is gone (pid {'reused' if alive else 'defunct'})",
                run_worker_id=str(pid),
            )
        return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id) if self.has_instance else None
        try:
            asked = super().terminate(run_id)
        except Exception as err:  # the code server that started the worker may be gone
            log.warning("could not ask the code server to stop run %s: %s", run_id, err)
            asked = False
        if run is None or not _launched_on_this_host(run):
            return asked
        started = self._worker_started_event(run_id)
        worker = _live_worker(*started) if started else None
        if worker is None:
            return asked
        grace = load_settings().terminate_grace_seconds
        threading.Thread(
            target=_kill_after, args=(worker, grace, run_id), name=f"kill-{run_id[:8]}", daemon=True
        ).start()
        return True

    def _worker_started_event(self, run_id: str) -> tuple[int, float] | None:
        records = self._instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=50
        ).records
        for record in records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if not (event and (entry.message or "").startswith(STARTED_PROCESS_MESSAGE)):
                continue
            pid = event.engine_event_data.metadata.get("pid")
            if pid is not None:
                return int(pid.value), entry.timestamp
        return None


def _launched_on_this_host(run: DagsterRun) -> bool:
    raw = run.tags.get(GRPC_INFO_TAG)
    if not raw:
        return False
    info = json.loads(raw)
    return bool(info.get("socket")) or info.get("host") in LOCAL_HOSTS


def _live_worker(pid: int, reported_at: float) -> psutil.Process | None:
    """The worker's process if it still runs (not a later process that reused its pid)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if process.create_time() > reported_at + CREATE_TIME_SLACK_SECONDS:
            return None
        return process
    except psutil.NoSuchProcess:
        return None


def _kill_after(process: psutil.Process, grace: float, run_id: str) -> None:
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
            return
        time.sleep(0.2)
    try:
        log.warning("run %s: its worker %s did not stop; killing it", run_id, process.pid)
        process.kill()  # is_running() compares create times: never a reused pid
    except psutil.NoSuchProcess:
        pass
