"""The tests' Dagster instances keep their database connections.

Dagster's storages open a new connection for every read and write (``NullPool``): the
in-memory ones a new sqlite connection plus two PRAGMAs (~30 connections and ~60 statements
a ``materialize`` call, a sixth of its CPU), the Postgres ones a new server backend (about
2,000 in a ``make test-fast`` run). In the test process both keep their connections; what is
stored and read, and the SQL that does it, is unchanged. Processes the tests start (daemon,
webserver, code server) use Dagster's own settings, as the deployment does.

- ``ephemeral_instance()``: ``DagsterInstance.ephemeral()`` whose in-memory databases are reached
  through one kept connection per thread (``SingletonThreadPool``; ``foreign_keys`` set once per
  connection, as Dagster's PRAGMA did per call; ``journal_mode=WAL`` does nothing to an
  in-memory database).
- ``pooled(url)``: a Postgres storage URL naming the ``ytmetrics_test_pool`` engine plugin,
  which gives Dagster's engines a small pool (``QueuePool``, one kept connection, AUTOCOMMIT
  as Dagster sets it) instead of ``NullPool``. Each test's pools are closed when it ends
  (``close_test_pools``), so no connection outlives its test.
"""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as db
from sqlalchemy.engine import CreateEnginePlugin
from sqlalchemy.pool import NullPool, QueuePool, SingletonThreadPool

PLUGIN = "ytmetrics_test_pool"


def _kept_connections(engine: db.Engine) -> db.Engine:
    kept = db.create_engine(engine.url, poolclass=SingletonThreadPool, pool_size=16)

    @db.event.listens_for(kept, "connect")
    def _foreign_keys(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    return kept


def ephemeral_instance():
    """``DagsterInstance.ephemeral()`` whose storages keep their connections."""
    import dagster as dg

    instance = dg.DagsterInstance.ephemeral()
    events = instance._event_storage  # Dagster's in-memory storages
    runs = instance._run_storage
    # the in-memory databases live while the storages' held connections stay open
    events._engine = _kept_connections(events._engine)
    runs._engine = _kept_connections(runs._engine)

    @contextmanager
    def events_connection():
        with events._db_lock, events._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def runs_connection():
        with runs._engine.connect() as conn, conn.begin():
            yield conn

    events._connect = events_connection
    runs.connect = runs_connection
    return instance


_test_engines: weakref.WeakSet[db.Engine] = weakref.WeakSet()


class KeptPoolPlugin(CreateEnginePlugin):
    """Dagster's ``NullPool`` engines get a pool of one kept connection (overflow closed on
    return)."""

    def __init__(self, url, kwargs):
        super().__init__(url, kwargs)
        if kwargs.get("poolclass") is NullPool:
            kwargs["poolclass"] = QueuePool
            kwargs["pool_size"] = 1
            kwargs["max_overflow"] = 20

    def update_url(self, url):
        return url  # SQLAlchemy has removed ``plugin`` already

    def engine_created(self, engine):
        _test_engines.add(engine)


def register_plugin() -> None:
    from sqlalchemy.dialects import plugins

    plugins.register(PLUGIN, __name__, "KeptPoolPlugin")


def pooled(url: str) -> str:
    """``url`` naming the test pool plugin (for instances in the test process only)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("plugin", PLUGIN)]
    return urlunsplit((*parts[:3], urlencode(query), parts.fragment))


def close_test_pools() -> None:
    """Close the kept connections of every pooled engine (they reconnect if used again)."""
    for engine in list(_test_engines):
        engine.dispose()
