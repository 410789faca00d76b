"""What `ytmetrics status` shows: each supervised program's state, pid, uptime and restarts,
asked of the running supervisord over its unix socket (XML-RPC, as supervisorctl does)."""

from __future__ import annotations

import re
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

SPAWNED = re.compile(r"spawned: '([^']+)' with pid \d+")
STARTED = "supervisord started with pid"


class NotRunningError(RuntimeError):
    """No supervisord answers for this data directory."""


@dataclass(frozen=True)
class ProgramState:
    name: str  # as supervisorctl names it (group:program)
    state: str  # RUNNING, STARTING, BACKOFF, EXITED, FATAL, STOPPED, ...
    pid: int | None
    uptime_seconds: int | None
    restarts: int
    description: str


def rpc(home: Path, timeout: float = 5.0):
    from supervisor.xmlrpc import SupervisorTransport

    socket = Path(home) / "supervisor.sock"
    transport = SupervisorTransport(None, None, f"unix://{socket}")
    transport.timeout = timeout
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def restart_counts(log_file: Path) -> dict[str, int]:
    """Starts of each program since supervisord last started, minus the first: its restarts.
    supervisord's log records every spawn, so the count survives a restart of the watchdog."""
    try:
        lines = Path(log_file).read_text(errors="replace").splitlines()
    except OSError:
        return {}
    since = max((i for i, line in enumerate(lines) if STARTED in line), default=-1)
    spawns: dict[str, int] = {}
    for line in lines[since + 1 :]:
        match = SPAWNED.search(line)
        if match:
            spawns[match.group(1)] = spawns.get(match.group(1), 0) + 1
    return {name: count - 1 for name, count in spawns.items()}


def program_states(home: Path) -> list[ProgramState]:
    try:
        infos = rpc(home).supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error) as err:
        raise NotRunningError(
            f"`make run` is not running for {home} (no supervisord answers on "
            f"{Path(home) / 'supervisor.sock'}: {type(err).__name__})"
        ) from None
    restarts = restart_counts(Path(home) / "logs" / "supervisord.log")
    states = []
    for info in infos:
        name = info["name"] if info["group"] == info["name"] else f"{info['group']}:{info['name']}"
        running = info["statename"] == "RUNNING"
        states.append(
            ProgramState(
                name=name,
                state=info["statename"],
                pid=info["pid"] or None,
                uptime_seconds=info["now"] - info["start"] if running else None,
                restarts=max(restarts.get(info["name"], 0), 0),
                description=info["description"],
            )
        )
    return states
