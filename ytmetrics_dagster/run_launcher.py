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
"""

from __future__ import annotations

import json

import psutil
from dagster import DagsterEventType, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG

STARTED_PROCESS_MESSAGE = "Started process for run"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# The worker writes its pid event a moment after it starts; a process created later than this
# after that event cannot be the worker.
CREATE_TIME_SLACK_SECONDS = 2.0


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
