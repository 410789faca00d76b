"""Start Dagster the way production runs it: the code server, the webserver and the daemon as
separate processes against Postgres storage, with the commands of deploy/ (the image's CMD, the
compose file's entrypoints), on free ports of 127.0.0.1. Used by the daemon and topology tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import yaml
from dagster._core.storage.dagster_run import RunsFilter

from ytmetrics_dagster_tests.helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
LOCATION = "ytmetrics_dagster"
T = TypeVar("T")


def dockerfile_instructions(path: Path = DEPLOY / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += " " + line.rstrip("\\").strip() if current else line.rstrip("\\").strip()
        if not line.endswith("\\"):
            keyword, _, args = current.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
            current = ""
    return instructions


def image_command() -> list[str]:
    """The user-code image's CMD (exec form)."""
    return json.loads([args for kw, args in dockerfile_instructions() if kw == "CMD"][-1])


def compose_entrypoint(service: str) -> list[str]:
    """The service's entrypoint as compose runs it with the defaults (``${VAR:-default}``)."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    return [
        re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(part))
        for part in compose["services"][service]["entrypoint"]
    ]


def localize(argv: list[str], substitutions: dict[str, str]) -> list[str]:
    """A container command for this machine: the venv's executable, local host/port/paths."""
    return [str(BIN / argv[0]), *(substitutions.get(a, a) for a in argv[1:])]


def instance_yaml(source: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """``source`` with top-level keys replaced and ``run_monitoring`` keys overridden."""
    config = json.loads(json.dumps(source))
    monitoring = overrides.pop("run_monitoring", {})
    config.update(overrides)
    config.setdefault("run_monitoring", {}).update(monitoring)
    return config


class DagsterProcesses:
    """A DAGSTER_HOME in ``home`` with the given instance config, and its processes."""

    def __init__(self, home: Path, config: dict[str, Any], env: dict[str, str]):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.grpc_port = free_port()
        self.web_port = free_port()
        self.workspace = home / "workspace.yaml"
        self.workspace.write_text(
            yaml.safe_dump(
                {
                    "load_from": [
                        {
                            "grpc_server": {
                                "host": "127.0.0.1",
                                "port": self.grpc_port,
                                "location_name": LOCATION,
                            }
                        }
                    ]
                }
            )
        )
        self.env = dict(env, DAGSTER_HOME=str(home), YTMETRICS_SOURCE="simulator")
        self.processes: dict[str, subprocess.Popen] = {}
        self._instance: dg.DagsterInstance | None = None

    # -- the commands, as deploy/ runs them --------------------------------------------------

    @property
    def substitutions(self) -> dict[str, str]:
        return {
            "0.0.0.0": "127.0.0.1",
            "4000": str(self.grpc_port),
            "3000": str(self.web_port),
            "/opt/dagster/dagster_home/workspace.yaml": str(self.workspace),
        }

    def code_server_argv(self) -> list[str]:
        return localize(image_command(), self.substitutions)

    def webserver_argv(self) -> list[str]:
        return localize(compose_entrypoint("webserver"), self.substitutions)

    def daemon_argv(self) -> list[str]:
        return localize(compose_entrypoint("daemon"), self.substitutions)

    # -- processes ---------------------------------------------------------------------------

    def start(self, name: str) -> None:
        argv = {
            "code_server": self.code_server_argv,
            "webserver": self.webserver_argv,
            "daemon": self.daemon_argv,
        }[name]()
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, process_group=0
        )
        log.close()

    def stop(self, name: str, signum: int = signal.SIGINT, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
        # whatever the process started (a code server's run workers) goes with it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)

    def stop_all(self) -> None:
        # all asked to stop at once: their shutdowns overlap instead of adding up
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
        for name in list(self.processes):
            process = self.processes.pop(name)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for log in sorted(self.home.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def wait_for_code_server(self, timeout: float = 120) -> None:
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=self.grpc_port, host="127.0.0.1")

        def ping() -> bool:
            try:
                client.ping("up")
                client.list_repositories()
                return True
            except Exception:
                return False

        self.wait(ping, timeout, "the code server to load the definitions")

    def wait_for_webserver(self, timeout: float = 120) -> None:
        import requests

        def up() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{self.web_port}/server_info", timeout=2).ok
            except requests.RequestException:
                return False

        self.wait(up, timeout, "the webserver")

    def wait_for_daemon(self, timeout: float = 120) -> None:
        def healthy() -> bool:
            heartbeats = self.instance.get_daemon_heartbeats()
            return {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING"} <= set(
                heartbeats
            )

        self.wait(healthy, timeout, "the daemon's heartbeats")

    def wait(
        self, predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.5
    ) -> T:
        def alive() -> None:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(
                        f"{name} exited ({process.returncode}) while waiting for {what}\n"
                        + self.log_tail()
                    )

        return wait_until(predicate, timeout, what, interval, check=alive, details=self.log_tail)

    # -- the instance, as the processes see it -----------------------------------------------

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            previous = {k: os.environ.get(k) for k in self.env}
            os.environ.update(self.env)
            try:
                self._instance = dg.DagsterInstance.from_config(str(self.home))
            finally:
                for key, value in previous.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        return self._instance

    def graphql(self):
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient("127.0.0.1", port_number=self.web_port, timeout=60)

    def submit(self, job: str, tags: dict[str, str] | None = None, run_config=None) -> str:
        return self.graphql().submit_job_execution(
            job, repository_location_name=LOCATION, tags=tags or {}, run_config=run_config or {}
        )

    def run(self, run_id: str):
        return self.instance.get_run_by_id(run_id)

    def wait_for_status(self, run_id: str, statuses, timeout: float = 120):
        statuses = set(statuses)
        return self.wait(
            lambda: (run := self.run(run_id)) is not None and run.status in statuses and run,
            timeout,
            f"run {run_id[:8]} to reach {sorted(s.value for s in statuses)}",
        )

    def worker_pid(self, run_id: str) -> int | None:
        for entry in self.instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            if (entry.message or "").startswith("Started process for run"):
                return int(entry.dagster_event.engine_event_data.metadata["pid"].value)
        return None

    def runs(self, **filters) -> list:
        return list(self.instance.get_runs(RunsFilter(**filters)))

    def claimed_slots(self, pool: str = "youtube_api") -> list[str]:
        info = self.instance.event_log_storage.get_concurrency_info(pool)
        return [slot.run_id for slot in info.claimed_slots]

    def describe(self) -> str:
        return f"DAGSTER_HOME={self.home}\n" + "\n".join(
            f"{n}: {shlex.join(p.args)}" for n, p in self.processes.items()
        )
