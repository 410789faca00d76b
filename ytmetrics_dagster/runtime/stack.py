"""The programs of `make run` and the supervisord configuration that runs them.

Everything lives under $YTMETRICS_HOME: ``supervisord.conf`` (written on every start),
``supervisor.sock`` (supervisorctl and `ytmetrics status` talk to supervisord through it),
``supervisord.pid`` (the CLI finds the owner of the embedded Postgres through it),
``workspace.yaml`` (the webserver and the daemon reach the code server through it) and
``logs/`` (one file per program, and supervisord's own log of every start, exit and restart).

Each program restarts when it dies. A program that dies within ``startsecs`` of its start is in
a crash loop: supervisord waits 1 s, 2 s, 3 s, … between attempts and gives up (FATAL) after
``startretries``; the watchdog (runtime/watchdog.py) records an alert and starts a FATAL program
again every minute, so a long outage of something it needs never leaves it down for good.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from ytmetrics_dagster.runtime.supervisord import stop_escalating
from ytmetrics_dagster.warehouse.embedded import SUPERVISOR_PIDFILE, ForegroundPostgres

HOST = "127.0.0.1"
LOCATION_NAME = "ytmetrics_dagster"
DEFINITIONS_MODULE = "ytmetrics_dagster.definitions"
# every process supervisord starts (and theirs) carries this in its environment: a new
# `make run` finds what a killed one left behind by it
MARKER_VARIABLE = "YTMETRICS_SUPERVISED_BY"
# the Dagster programs, the dashboard and the simulator form one group: supervisord stops a
# group's programs at once but one group after another, and this group is stopped before the
# Postgres they use
SERVICES_GROUP = "services"
ANNOUNCE = "announce"
LOG_MAX_BYTES = "10MB"
LOG_BACKUPS = 5


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    # Postgres must answer before this starts (see launch.py)
    needs_warehouse: bool = False
    startsecs: int = 5
    startretries: int = 10
    # sent on stop, and by the kernel if supervisord dies: Dagster's processes and uvicorn
    # stop cleanly on SIGINT (Ctrl-C); so does Postgres ("fast" shutdown)
    stopsignal: str = "INT"
    # then SIGKILL; the group's programs stop side by side, so a stop of everything takes at
    # most this plus Postgres's fast shutdown: under the 10 s promised
    stopwaitsecs: int = 5
    user: str | None = None
    directory: Path | None = None
    environment: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Stack:
    home: Path
    ui_port: int
    dashboard_port: int
    code_server_port: int
    simulator_port: int | None  # None: no simulator program
    postgres: ForegroundPostgres | None  # None: an external database
    project_dir: Path | None = None
    python: str = sys.executable

    @property
    def conf(self) -> Path:
        return self.home / "supervisord.conf"

    @property
    def socket(self) -> Path:
        return self.home / "supervisor.sock"

    @property
    def pidfile(self) -> Path:
        return self.home / SUPERVISOR_PIDFILE

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def workspace(self) -> Path:
        return self.home / "workspace.yaml"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ui_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{HOST}:{self.dashboard_port}"

    @property
    def simulator_url(self) -> str | None:
        if self.simulator_port is None:
            return None
        return f"http://{HOST}:{self.simulator_port}/youtube/v3"

    def programs(self) -> list[Program]:
        py = self.python
        workdir = self.project_dir or self.home
        programs = [
            Program(
                "code-server",
                [py, "-m", "dagster", "code-server", "start", "-m", DEFINITIONS_MODULE]
                + ["-h", HOST, "-p", str(self.code_server_port)]
                + ["--location-name", LOCATION_NAME],
                directory=workdir,
                # on stop it waits for open calls (the webserver's and the daemon's, stopped at
                # the same time) up to this long, not Dagster's default of a minute
                environment=(("DAGSTER_GRPC_SHUTDOWN_GRACE_PERIOD", "1"),),
            ),
            Program(
                "daemon",
                [py, "-m", "dagster._daemon", "run", "-w", str(self.workspace)],
                needs_warehouse=True,
                directory=workdir,
            ),
            Program(
                "webserver",
                [py, "-m", "dagster_webserver", "-h", HOST, "-p", str(self.ui_port)]
                + ["-w", str(self.workspace)],
                needs_warehouse=True,
                directory=workdir,
            ),
            Program(
                "dashboard",
                [py, "-m", "ytmetrics_dagster.surfaces.dashboard", "--host", HOST]
                + ["--port", str(self.dashboard_port)],
                needs_warehouse=True,
                startsecs=2,
                directory=workdir,
            ),
        ]
        if self.simulator_port is not None:
            programs.append(
                Program(
                    "simulator",
                    [py, "-m", "ytmetrics_dagster.youtube.simulator", "--host", HOST]
                    + ["--port", str(self.simulator_port)],
                    startsecs=1,
                    directory=workdir,
                )
            )
        return programs

    def postgres_program(self) -> Program | None:
        if self.postgres is None:
            return None
        return Program(
            "postgres", self.postgres.argv, startsecs=2, user=self.postgres.user, stopwaitsecs=2
        )


def workspace_yaml(stack: Stack) -> str:
    return (
        "# written by `ytmetrics dev`: the code server supervisord runs\n"
        "load_from:\n"
        "  - grpc_server:\n"
        f"      host: {HOST}\n"
        f"      port: {stack.code_server_port}\n"
        f"      location_name: {LOCATION_NAME}\n"
    )


def _value(raw: str | Path) -> str:
    # supervisord expands %(name)s in values: a literal % is written %%
    return str(raw).replace("%", "%%")


def _program_logfile(path: Path) -> str:
    # a program's log file name is expanded twice by supervisord (options.py): %%%% → %
    return str(path).replace("%", "%%%%")


def _launched(stack: Stack, program: Program) -> str:
    argv = [stack.python, "-m", "ytmetrics_dagster.runtime.launch"]
    argv += ["--parent-death", program.stopsignal]
    if program.needs_warehouse:
        argv.append("--wait-for-warehouse")
    if program.user:
        argv += ["--user", program.user]
    return _value(shlex.join([*argv, "--", *program.argv]))


def _log_options(stack: Stack, name: str) -> list[str]:
    return [
        "redirect_stderr=true",
        f"stdout_logfile={_program_logfile(stack.logs / f'{name}.log')}",
        f"stdout_logfile_maxbytes={LOG_MAX_BYTES}",
        f"stdout_logfile_backups={LOG_BACKUPS}",
    ]


def _program_section(stack: Stack, program: Program, priority: int) -> list[str]:
    lines = [
        f"[program:{program.name}]",
        f"command={_launched(stack, program)}",
        f"priority={priority}",
        "autostart=true",
        "autorestart=true",
        f"startsecs={program.startsecs}",
        f"startretries={program.startretries}",
        f"stopsignal={program.stopsignal}",
        f"stopwaitsecs={program.stopwaitsecs}",
        # the signal reaches the program's own children (code server → run workers) too
        "stopasgroup=true",
        "killasgroup=true",
    ]
    if program.directory:
        lines.append(f"directory={_value(program.directory)}")
    if program.environment:
        pairs = ",".join(f'{key}="{_value(value)}"' for key, value in program.environment)
        lines.append(f"environment={pairs}")
    return lines + _log_options(stack, program.name) + [""]


def supervisord_conf(stack: Stack) -> str:
    lines = [
        "; written by `ytmetrics dev` (make run) on every start; edits are overwritten",
        "[unix_http_server]",
        f"file={_value(stack.socket)}",
        "chmod=0700",
        "",
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_value(stack.logs / 'supervisord.log')}",
        f"logfile_maxbytes={LOG_MAX_BYTES}",
        f"logfile_backups={LOG_BACKUPS}",
        f"pidfile={_value(stack.pidfile)}",
        f"childlogdir={_value(stack.logs)}",
        "identifier=ytmetrics",
        # as whoever started it; said explicitly, root is not warned about on every start
        *(["user=root"] if os.geteuid() == 0 else []),
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(stack.socket)}",
        "",
    ]
    postgres = stack.postgres_program()
    if postgres is not None:
        # first to start, last to stop
        lines += _program_section(stack, postgres, priority=10)
    services = stack.programs()
    for index, program in enumerate(services):
        lines += _program_section(stack, program, priority=100 + index)
    lines += [
        f"[group:{SERVICES_GROUP}]",
        f"programs={','.join(p.name for p in services)}",
        "priority=100",
        "",
        # prints where the UI and the dashboard are once they answer, then exits
        f"[program:{ANNOUNCE}]",
        "command="
        + _value(
            shlex.join(
                [stack.python, "-m", "ytmetrics_dagster.runtime.announce"]
                + ["--ui", stack.ui_url, "--dashboard", stack.dashboard_url]
            )
        ),
        "priority=900",
        "autostart=true",
        "autorestart=false",
        "startsecs=0",
        "stopsignal=INT",
        "stopwaitsecs=2",
        "redirect_stderr=true",
        "stdout_logfile=/dev/stdout",
        "stdout_logfile_maxbytes=0",
        "",
        "[eventlistener:watchdog]",
        "command=" + _value(shlex.join([stack.python, "-m", "ytmetrics_dagster.runtime.watchdog"])),
        "events=PROCESS_STATE_EXITED,PROCESS_STATE_BACKOFF,PROCESS_STATE_FATAL,TICK_60",
        "buffer_size=100",
        "priority=1",
        "autostart=true",
        "autorestart=true",
        "stopwaitsecs=2",
        f"stderr_logfile={_program_logfile(stack.logs / 'watchdog.log')}",
        f"stderr_logfile_maxbytes={LOG_MAX_BYTES}",
        f"stderr_logfile_backups={LOG_BACKUPS}",
        "",
    ]
    return "\n".join(lines)


def write_stack(stack: Stack) -> Path:
    stack.logs.mkdir(parents=True, exist_ok=True)
    stack.workspace.write_text(workspace_yaml(stack))
    stack.conf.write_text(supervisord_conf(stack))
    return stack.conf


def supervisord_argv(stack: Stack) -> list[str]:
    # supervisord run by runtime/supervisord.py: it stops what the programs leave behind
    argv = [stack.python, "-m", "ytmetrics_dagster.runtime.supervisord"]
    return argv + ["-n", "-c", str(stack.conf)]


def leftovers(conf: Path) -> list[psutil.Process]:
    """Processes a killed `make run` of this data directory left behind (by their marker)."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(MARKER_VARIABLE) == str(conf):
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def stop_leftovers(conf: Path, log=print) -> int:
    """Stop them as supervisord would have (SIGINT), then SIGTERM, then SIGKILL."""
    processes = leftovers(conf)
    if not processes:
        return 0
    count = len(processes)
    log(f"stopping {count} processes left running by a `make run` that was killed")
    stop_escalating(
        lambda: [p for p in processes if _alive(p)],
        ((signal.SIGINT, 5.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)),
    )
    return count


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
