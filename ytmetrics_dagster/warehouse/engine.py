"""Where the warehouse is and how to connect: the one place that builds an Engine."""

from __future__ import annotations

import os
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ytmetrics_dagster.settings import Settings, load_settings
from ytmetrics_dagster.warehouse.embedded import (
    ensure_database,
    require_embedded_warehouse,
    start_embedded_postgres,
)
from ytmetrics_dagster.warehouse.pre_ping import with_pre_ping

WAREHOUSE_DB = "ytmetrics"
DAGSTER_DB = "dagster"


class DatabaseUnavailableError(RuntimeError):
    """The warehouse cannot be reached; the message names where (never the password)."""


def with_driver(url: str, driver: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(
            f"YTMETRICS_DATABASE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}"
        )
    return urlunsplit(("postgresql+" + driver, *parts[1:]))


def _with_database(uri: str, database: str) -> str:
    parts = urlsplit(uri)
    query = urlencode(parse_qsl(parts.query))
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, query, ""))


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown only by its scheme
        return url.split(":", 1)[0] + "://…"


def database_on_server(server_uri: str, database: str, driver: str) -> str:
    """SQLAlchemy URL of ``database`` on a Postgres server (created if missing)."""
    ensure_database(server_uri, database)
    return with_driver(_with_database(server_uri, database), driver)


def embedded_server(settings: Settings, create: bool = False) -> str:
    """The embedded server of the data directory, started if it is down. Only with
    ``create`` (`ytmetrics db upgrade`, a restore) is a missing one initialised: anything else
    is told, in one line, that there is none (WarehouseMissingError) and creates nothing."""
    if not create:
        require_embedded_warehouse(settings.embedded_pgdata)
    return start_embedded_postgres(settings.embedded_pgdata)


def warehouse_url(settings: Settings | None = None, *, create: bool = False) -> str:
    """SQLAlchemy URL of the warehouse: the configured one, else the embedded server of the
    data directory (started on demand; created only with ``create``)."""
    settings = settings or load_settings()
    if settings.database_url:
        return with_driver(settings.database_url, "psycopg")
    return database_on_server(embedded_server(settings, create), WAREHOUSE_DB, "psycopg")


def running_warehouse_url(settings: Settings | None = None) -> str | None:
    """The embedded warehouse's URL read from its running server's ``postmaster.pid`` alone,
    without starting, checking or creating anything (no embedded_postgres, no connection):
    a read command's fast path. None when there is a configured URL, no ready server, or
    its pid is not alive; the caller then takes ``warehouse_url`` (and should do so too when
    the URL does not answer: a stale pid file, a database not created yet)."""
    settings = settings or load_settings()
    if settings.database_url:
        return None
    try:
        lines = (settings.embedded_pgdata / "postmaster.pid").read_text().splitlines()
        pid, port, socket_dir, status = int(lines[0]), lines[3], lines[4], lines[7]
        if pid <= 0:  # kill(0 or -1) would signal a group: never a server's pid
            return None
        os.kill(pid, 0)
    except PermissionError:  # alive, but another user's (the server runs unprivileged as root)
        pass
    except (OSError, ValueError, IndexError):
        return None
    if status.strip() != "ready":
        return None
    if socket_dir.strip():
        uri = f"postgresql://postgres:@/{WAREHOUSE_DB}?host={socket_dir.strip()}"
    elif port.strip().isdigit() and len(lines) > 5 and lines[5].strip():
        uri = f"postgresql://postgres:@{lines[5].strip()}:{int(port)}/{WAREHOUSE_DB}"
    else:
        return None
    return with_driver(uri, "psycopg")


def dagster_storage_url(settings: Settings | None = None, *, create: bool = False) -> str:
    """URL for Dagster's own run/event/schedule storage (dagster-postgres speaks psycopg2),
    with its pooled connections checked before use (warehouse/pre_ping.py)."""
    settings = settings or load_settings()
    if settings.database_url:
        return with_pre_ping(with_driver(settings.database_url, "psycopg2"))
    server = embedded_server(settings, create)
    return with_pre_ping(database_on_server(server, DAGSTER_DB, "psycopg2"))


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """A pooled engine per URL; sessions run in UTC so date_trunc buckets are UTC buckets."""
    url = url or warehouse_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                connect_args={"options": "-c timezone=UTC", "connect_timeout": 10},
            )
            _engines[url] = engine
        return engine


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as err:
        raise DatabaseUnavailableError(
            f"cannot reach the warehouse at {engine.url.render_as_string(hide_password=True)}: "
            f"{str(err.orig).strip().splitlines()[0] if err.orig else err}"
        ) from None


def dispose_engines() -> None:
    """Close every pooled connection (before the server they point at is stopped)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
