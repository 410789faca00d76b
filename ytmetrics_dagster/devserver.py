"""`ytmetrics dev` (what `make run` runs): everything a fresh clone needs, then `dg dev`.

1. the UI's port, checked free before anything starts (`make run PORT=3001` picks another);
2. the warehouse: YTMETRICS_DATABASE_URL, or the embedded Postgres under .ytmetrics/ (started
   here; it keeps running afterwards, `make db-stop` stops it), migrated to head;
3. Dagster's instance: DAGSTER_HOME with a dagster.yaml that keeps runs, events and schedules
   in the same Postgres (dagster-postgres), queues runs by priority, caps the youtube_api pool
   and turns on run monitoring (dead or hung runs are failed and their pool slot freed);
4. the source: with YTMETRICS_SOURCE=simulator (what `make run` sets unless told otherwise) the
   YouTube simulator served from this process on 127.0.0.1, everything it yields labelled
   simulated, with demo videos queued;
5. the child processes: `dg dev` (webserver, daemon, code server) and the analysts' dashboard
   (YTMETRICS_DASHBOARD_PORT, 3100 by default; Dagster's asset metadata links to it), each in
   its own process group, ports checked free before anything starts, stopped together on
   SIGTERM, SIGINT or SIGHUP within a few seconds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ytmetrics_dagster.settings import load_settings

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
# How children are stopped: SIGINT (Dagster's processes shut down cleanly on it, as on Ctrl-C),
# then SIGTERM, then SIGKILL for whatever is left, so a stop never takes more than ~8 s.
STOP_ESCALATION = ((signal.SIGINT, 0.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 8.0))
READY_TIMEOUT_SECONDS = 240.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

DAGSTER_YAML_MARK = "# written by `ytmetrics dev`; edit freely, remove this line to keep edits"
# The same queue, pool, monitoring, retry and retention settings as deploy/dagster.yaml
# (a test keeps them equal); only storage and the run launcher differ.
DAGSTER_YAML = f"""{DAGSTER_YAML_MARK}
storage:
  postgres:
    postgres_url:
      env: YTMETRICS_DAGSTER_PG_URL
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
# Runs are processes started by the code server; unlike DefaultRunLauncher this one lets run
# monitoring see that a run's worker process died (see ytmetrics_dagster/run_launcher.py).
run_launcher:
  module: ytmetrics_dagster.run_launcher
  class: LocalRunLauncher
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # youtube_api: API-bound steps across all runs (schedule, sensors, backfills) one at a time
    default_limit: 1
run_monitoring:
  enabled: true
  # STARTING/CANCELING longer than this: failed/canceled
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  # runs without a dagster/max_runtime tag (the hourly job has 45 min) fail after 3 h
  max_runtime_seconds: 10800
  # a dead run worker is found within this; a crashed run is failed, never resumed
  poll_interval_seconds: 30
  max_resume_run_attempts: 0
  # a failed or killed run's youtube_api slot is released this long after it ended
  free_slots_after_run_end_seconds: 60
run_retries:
  # a run whose worker crashed (not a failed step) is retried once when it carries
  # dagster/max_retries (the runs observing the hour in progress do): the hour can still be seen
  enabled: true
  max_retries: 0
  retry_on_asset_or_op_failure: false
retention:
  schedule:
    purge_after_days: 90
  sensor:
    purge_after_days:
      skipped: 7
      failure: 30
      success: 90
      started: 90
sensors:
  # sensors evaluated side by side: a slow one (a channel poll, a webhook) never delays the rest
  use_threads: true
  num_workers: 4
telemetry:
  enabled: false
"""


def write_dagster_yaml(dagster_home: Path) -> Path:
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    if not path.exists() or path.read_text().startswith(DAGSTER_YAML_MARK):
        path.write_text(DAGSTER_YAML)
    return path


class PortInUseError(RuntimeError):
    pass


def ensure_port_free(port: int, host: str = HOST, variable: str = "PORT") -> None:
    """Fail before starting anything if ``host:port`` is taken (a listening server there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the servers themselves: a closed connection in TIME_WAIT is not "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUseError(
                    f"port {port} on {host} is already in use (another `make run`?). Stop what "
                    f"is listening there, or choose another port: make run {variable}={port + 1}"
                ) from None
            raise


@dataclass
class Child:
    """A process ``ytmetrics dev`` starts, watches and stops."""

    name: str
    argv: list[str]
    port: int | None = None
    # answers HTTP 200 on this path once the child serves (checked only with a port)
    ready_path: str | None = None
    cwd: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str | None:
        return f"http://{HOST}:{self.port}" if self.port else None


class Supervisor:
    """Starts children in their own process groups and stops each whole group: Dagster's
    processes start code servers and run workers of their own, and a signal to the group
    reaches them all at once, as Ctrl-C in a terminal would."""

    def __init__(self, env: dict[str, str], log: Callable[[str], None] = print):
        self.env = env
        self.log = log
        self.children: list[Child] = []

    def start(self, child: Child) -> Child:
        child.process = subprocess.Popen(child.argv, env=self.env, cwd=child.cwd, process_group=0)
        self.children.append(child)
        return child

    def wait_ready(self, child: Child, stop: threading.Event, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            if self.exited() is not None:
                return False
            try:
                with urllib.request.urlopen(child.url + (child.ready_path or "/"), timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            stop.wait(0.5)
        return False

    def exited(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self) -> None:
        started = time.monotonic()
        for signum, after in STOP_ESCALATION:
            while time.monotonic() - started < after:
                if not any(_group_alive(c) for c in self.children):
                    return
                time.sleep(0.1)
            for child in self.children:
                if _group_alive(child):
                    if signum != signal.SIGINT:
                        self.log(f"{child.name}: still running after {after:.0f} s, {signum.name}")
                    _signal_group(child, signum)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and any(_group_alive(c) for c in self.children):
            time.sleep(0.1)


def _signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.process.pid, signum)


def _group_alive(child: Child) -> bool:
    child.process.poll()  # reap our own child so a zombie does not count as alive
    try:
        os.killpg(child.process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _live_members(child.process.pid)


def _live_members(pgid: int) -> bool:
    """True if a member of the process group is not a zombie (zombies are reaped by init)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def project_root() -> Path | None:
    """The checkout's root (pyproject.toml with [tool.dg]) if this is an editable install."""
    root = Path(__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.dg]" in pyproject.read_text():
        return root
    return None


def dagster_child(port: int) -> Child:
    """`dg dev`: webserver, daemon (schedules, sensors, run queue, monitoring) and code server."""
    root = project_root()
    # In the checkout dg reads the project from pyproject.toml; installed elsewhere, the module.
    target = ["--target-path", str(root)] if root else ["-m", "ytmetrics_dagster.definitions"]
    argv = [sys.executable, "-m", "dagster_dg_cli.cli", "dev", *target]
    argv += ["--host", HOST, "--port", str(port)]
    return Child("dagster", argv, port=port, ready_path="/server_info", cwd=root)


def dashboard_child(port: int) -> Child:
    """The analysts' read-only page (ytmetrics_dagster.dashboard) on the same warehouse."""
    argv = [
        sys.executable,
        "-m",
        "ytmetrics_dagster.dashboard",
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    return Child("dashboard", argv, port=port, ready_path="/")


class SourceNotConfiguredError(RuntimeError):
    pass


class AlreadyRunningError(RuntimeError):
    pass


def hold_home(home: Path):
    """An exclusive lock on the data directory, held while this `ytmetrics dev` runs: two of
    them on one warehouse and one Dagster instance would run two daemons."""
    import fcntl

    home.mkdir(parents=True, exist_ok=True)
    handle = (home / "dev.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunningError(
            f"another `ytmetrics dev` (make run) is already using {home}. Stop it, or give this "
            "one a data directory of its own: make run YTMETRICS_HOME=/some/other/dir PORT=3001 "
            "YTMETRICS_DASHBOARD_PORT=3101"
        ) from None
    return handle


def run_dev(port: int = DEFAULT_PORT, demo: bool = True) -> int:
    from ytmetrics_dagster.settings import load_dashboard_settings

    dashboard_port = load_dashboard_settings().port
    try:
        # before anything is created or started
        ensure_port_free(port)
        if dashboard_port == port:
            raise PortInUseError(
                f"the dashboard's port {port} is the Dagster UI's: set YTMETRICS_DASHBOARD_PORT"
            )
        ensure_port_free(dashboard_port, variable="YTMETRICS_DASHBOARD_PORT")
        lock = hold_home(load_settings().home)
    except (PortInUseError, AlreadyRunningError) as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 1
    try:
        return _run_dev(port, dashboard_port, demo)
    finally:
        lock.close()


def _run_dev(port: int, dashboard_port: int, demo: bool) -> int:
    stop = threading.Event()
    received: list[int] = []

    def request_stop(signum, _frame) -> None:
        received.append(signum)
        stop.set()

    # Installed before any child starts; a handled signal is reset to the default in children,
    # so they honour SIGINT even if this process was started with it ignored (nohup, `&`).
    previous = {s: signal.signal(s, request_stop) for s in STOP_SIGNALS}
    simulator = None
    supervisor = None
    try:
        try:
            env, simulator = prepare(demo)
        except SourceNotConfiguredError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            return 1
        env["YTMETRICS_DASHBOARD_PORT"] = str(dashboard_port)
        env.setdefault("YTMETRICS_DASHBOARD_URL", f"http://{HOST}:{dashboard_port}")
        if stop.is_set():
            return 0
        supervisor = Supervisor(env)
        children = [dagster_child(port), dashboard_child(dashboard_port)]
        for child in children:
            supervisor.start(child)
        print(f"starting Dagster (dg dev) on port {port} ...", flush=True)
        for child in children:
            if child.port and not supervisor.wait_ready(child, stop, READY_TIMEOUT_SECONDS):
                if stop.is_set():
                    break
                failed = supervisor.exited()
                reason = (
                    f"{failed.name} exited with code {failed.process.returncode}"
                    if failed
                    else f"{child.name} did not answer on {child.url} within "
                    f"{READY_TIMEOUT_SECONDS:.0f} s"
                )
                print(f"error: {reason}", file=sys.stderr, flush=True)
                return 1
        if not stop.is_set():
            print(f"Dagster UI: http://{HOST}:{port}  (Ctrl-C or SIGTERM stops it)", flush=True)
            print(f"Dashboard:  http://{HOST}:{dashboard_port}", flush=True)
        while not stop.wait(0.5):
            failed = supervisor.exited()
            if failed is not None:
                print(
                    f"error: {failed.name} exited with code {failed.process.returncode}; "
                    "stopping the rest",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
        print(f"received {signal.Signals(received[0]).name}; stopping", flush=True)
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop()
        if simulator is not None:
            simulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# The simulator can answer "as of" any past hour, so the demo's partitions reach back far
# enough for `ytmetrics demo-history --hours 48` on a fresh clone; the real API cannot, and a
# real deployment's partitions start on its first day.
DEMO_HISTORY_DAYS = 3


def demo_partitions_start(engine, settings):
    from ytmetrics_dagster.warehouse.deployment import (
        PARTITIONS_START,
        partitions_start,
        set_setting,
    )

    start = partitions_start(engine)
    if settings.uses_simulator:
        earliest = datetime.now(UTC).date() - timedelta(days=DEMO_HISTORY_DAYS)
        if start > earliest:
            set_setting(engine, PARTITIONS_START, earliest.isoformat())
            start = earliest
    return start


def prepare(demo: bool):
    """Warehouse, Dagster home and source; returns the children's environment and the
    in-process simulator (or None)."""
    from ytmetrics_dagster.warehouse.engine import (
        check_connection,
        dagster_storage_url,
        get_engine,
        safe_url,
        warehouse_url,
    )
    from ytmetrics_dagster.warehouse.migrate import upgrade
    from ytmetrics_dagster.warehouse.videos import queue_registrations, status_counts

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if sys.prefix != sys.base_prefix:
        # dg warns unless the project's virtualenv is the active one; it is the one running us
        env.setdefault("VIRTUAL_ENV", sys.prefix)

    url = warehouse_url(settings)
    engine = get_engine(url)
    check_connection(engine)
    revision = upgrade(engine)
    print(f"warehouse: {safe_url(url)} (revision {revision})", flush=True)

    env["YTMETRICS_DATABASE_URL"] = url
    env["YTMETRICS_DAGSTER_PG_URL"] = dagster_storage_url(settings)
    env.setdefault("YTMETRICS_PARTITIONS_START", str(demo_partitions_start(engine, settings)))
    env["YTMETRICS_HOME"] = str(settings.home)
    env["DAGSTER_HOME"] = str(settings.dagster_home)
    write_dagster_yaml(settings.dagster_home)

    # `make run` exports YTMETRICS_SOURCE=simulator unless the user chose; the real API without
    # a key would start a deployment that collects nothing, so it does not start at all.
    source = env.setdefault("YTMETRICS_SOURCE", settings.source)
    if source == "youtube" and not settings.youtube_api_key:
        from ytmetrics_dagster.settings import missing_key_message

        raise SourceNotConfiguredError(missing_key_message())
    if source == "youtube" and not settings.youtube_api_url:
        from ytmetrics_dagster.warehouse.sources import holds_source

        with engine.connect() as conn:
            simulated = holds_source(conn, "simulator")
        if simulated:
            raise SourceNotConfiguredError(
                f"this warehouse ({safe_url(url)}) holds simulated data, and real and simulated "
                "rows are never mixed: collect from YouTube into a database of its own "
                "(YTMETRICS_DATABASE_URL, or another YTMETRICS_HOME for an embedded one)"
            )
    simulator = None
    if source == "simulator" and not settings.youtube_api_url:
        from ytmetrics_dagster.youtube.simulator import Catalog, SimulatorServer

        simulator = SimulatorServer().start()
        env["YTMETRICS_YOUTUBE_API_URL"] = simulator.base_url
        print(
            f"source: SIMULATED YouTube API at {simulator.base_url} — not real data "
            "(YTMETRICS_SOURCE=youtube and YOUTUBE_API_KEY collect from YouTube)",
            flush=True,
        )
        if demo and sum(status_counts(engine).values()) == 0:
            ids = Catalog().demo_video_ids(datetime.now(UTC))
            queue_registrations(engine, [(vid, vid) for vid in ids], requested_by="demo")
            print(f"demo: queued {len(ids)} simulated videos for registration", flush=True)
    elif source == "simulator":
        print(f"source: SIMULATED YouTube API at {settings.youtube_api_url}", flush=True)
    else:
        print("source: YouTube Data API v3", flush=True)
        check_youtube_api(engine, settings)
    return env, simulator


def check_youtube_api(engine, settings) -> bool:
    """Real-API mode: say before anything starts whether the API answers with this key (one
    videos.list, 1 quota unit, in the ledger: the API has no free request). Dagster starts
    either way: the hours it cannot observe are recorded as missed."""
    from ytmetrics_dagster.warehouse.quota import DurableLedger
    from ytmetrics_dagster.youtube.factory import build_client
    from ytmetrics_dagster.youtube.probe import probe_api

    client = build_client(
        settings.source,
        settings.youtube_api_key,
        settings.youtube_api_url,
        ledger=DurableLedger(engine, run_id="devserver:api-check"),
        max_retries=1,
    )
    with client:
        probe = probe_api(client)
    print(probe.message, flush=True, file=sys.stdout if probe.answers else sys.stderr)
    return probe.answers
