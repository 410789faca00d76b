"""The warehouse comes back cleanly (issue #22): after a Postgres restart the first run
succeeds, with Dagster's storage pooled as in the webserver; while it is down a sensor logs one
line when it goes and one when it is back; when the embedded Postgres cannot start, the CLI
says so in one line. A dedicated embedded Postgres in a temporary directory (never the shared
test server), restarted the way an operator or a supervisor would."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from ytmetrics_dagster.defs.operations import healing
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse import health
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.pre_ping import with_pre_ping
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import current_clock, current_hour, normal_ids

pytestmark = pytest.mark.system


@pytest.fixture
def server():
    root = Path(tempfile.mkdtemp(prefix="ytm-heal-pg-"))
    pgdata = root / "pgdata"
    uri = start_embedded_postgres(pgdata)
    yield pgdata, uri
    stop_embedded_postgres(pgdata)
    shutil.rmtree(root, ignore_errors=True)


def test_after_a_restart_the_first_run_succeeds_and_the_outage_is_logged_per_change(
    server, simulator, caplog
):
    pgdata, uri = server
    url = database_on_server(uri, "ytmetrics", "psycopg")
    upgrade(get_engine(url))
    storage_url = with_pre_ping(database_on_server(uri, "dagster", "psycopg2"))
    resources = {
        "youtube": YouTubeResource(source="simulator", base_url=simulator.base_url),
        "warehouse": WarehouseResource(database_url=url),
        "clock": current_clock(),
    }
    queue_registrations(get_engine(url), [(v, v) for v in normal_ids(3)])
    hour = current_hour()
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": storage_url}}}
    ) as instance:
        # the webserver's storage: a pool of connections kept open between requests
        instance.optimize_for_webserver(statement_timeout=5000, pool_recycle=3600, max_overflow=2)
        assert dg.materialize([tracked_videos], resources=resources, instance=instance).success

        stop_embedded_postgres(pgdata)
        caplog.set_level(logging.INFO, logger="ytmetrics.warehouse")
        cursor = None
        for _ in range(3):
            context = dg.build_sensor_context(
                instance=dg.DagsterInstance.ephemeral(),
                cursor=cursor,
                resources={"warehouse": resources["warehouse"]},
            )
            assert "unavailable" in healing.hour_accounting_sensor(context).skip_message
            cursor = context.cursor
        start_embedded_postgres(pgdata)

        # first try: every pooled connection (warehouse and Dagster's storage) was dead
        result = dg.materialize(
            [video_metric_snapshots],
            partition_key=hour.strftime("%Y-%m-%d-%H:00"),
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        failures = [e.message for e in result.all_events if e.is_failure]
        assert result.success, failures
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"warehouse": resources["warehouse"]}
        )
        healing.hour_accounting_sensor(context)

    lines = [r.getMessage() for r in caplog.records if r.name == "ytmetrics.warehouse"]
    assert len(lines) == 2, lines
    assert "warehouse unavailable" in lines[0]
    assert "reachable again" in lines[1]
    assert not health.is_down(resources["warehouse"].where())


def test_the_cli_says_in_one_line_that_the_embedded_warehouse_cannot_start(server, tmp_path):
    pgdata, _ = server
    stop_embedded_postgres(pgdata)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(pgdata, home / "pgdata")
    # read-only (and, when we are root, not the server user's to write either)
    for path in [home / "pgdata", *(home / "pgdata").rglob("*")]:
        path.chmod(path.stat().st_mode & 0o555)
    env = {k: v for k, v in os.environ.items() if k != "YTMETRICS_DATABASE_URL"}
    env["YTMETRICS_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli", "videos"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for path in [home / "pgdata", *(home / "pgdata").rglob("*")]:
        path.chmod(path.stat().st_mode | 0o700)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "the embedded warehouse cannot start" in lines[0]
    assert "Permission denied" in lines[0] or "read-only" in lines[0].lower()
    assert "Traceback" not in done.stderr + done.stdout
