"""The tests' shared in-memory DagsterInstance, with its sqlite connections kept.

Dagster's in-memory run and event log storages open a new sqlite connection for every
read and write (``NullPool``) and set two PRAGMAs on it each time: ~30 connections and ~60
statements a run, a sixth of a ``materialize`` call's CPU in the tests. Here the same
in-memory databases are reached through one kept connection per thread
(``SingletonThreadPool``; ``foreign_keys`` set once per connection, as Dagster's PRAGMA did
per call; ``journal_mode=WAL`` does nothing to an in-memory database). What is stored and read
is unchanged: the storages' own SQL runs on the same databases."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as db
from sqlalchemy.pool import SingletonThreadPool


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
    events = instance._event_storage  # noqa: SLF001 - Dagster's in-memory storages
    runs = instance._run_storage  # noqa: SLF001
    # the in-memory databases live while the storages' held connections stay open
    events._engine = _kept_connections(events._engine)  # noqa: SLF001
    runs._engine = _kept_connections(runs._engine)  # noqa: SLF001

    @contextmanager
    def events_connection():
        with events._db_lock, events._engine.connect() as conn, conn.begin():  # noqa: SLF001
            yield conn

    @contextmanager
    def runs_connection():
        with runs._engine.connect() as conn, conn.begin():  # noqa: SLF001
            yield conn

    events._connect = events_connection  # noqa: SLF001
    runs.connect = runs_connection
    return instance
