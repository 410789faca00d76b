"""The production topology without containers: the user-code gRPC server (the image's CMD), the
webserver and the daemon (the compose file's entrypoints) as separate processes, with the
production instance deploy/dagster.yaml against Postgres. One substitution: the run launcher.
DockerRunLauncher needs a Docker engine, so the test's copy of deploy/dagster.yaml has
``run_launcher`` replaced by Dagster's DefaultRunLauncher (runs become processes of the code
server); every other key is the production file's.

Registrations queued in the warehouse are picked up by registration_requests_sensor, whose
tracked_videos run makes new_videos_snapshot_sensor launch the snapshot of the current hour:
ticks of the real daemon, runs through the real queue, against the simulator.
"""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg
import pytest
import yaml
from dagster import DagsterRunStatus

from ytmetrics_dagster.defs.tags import CURRENT_HOUR_PRIORITY
from ytmetrics_dagster.warehouse.engine import database_on_server
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster_tests.dagster_processes import DEPLOY, LOCATION, DagsterProcesses
from ytmetrics_dagster_tests.helpers import current_clock, normal_ids, snapshot_minute_away

pytestmark = pytest.mark.system

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def production_config_with_default_launcher() -> dict:
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert config["run_launcher"]["class"] == "DockerRunLauncher"
    config["run_launcher"] = {"module": "dagster", "class": "DefaultRunLauncher"}
    return config


@pytest.fixture
def topology(pg_server, database_url, simulator, tmp_path):
    env = dict(
        os.environ,
        YTMETRICS_DATABASE_URL=database_url,
        YTMETRICS_DAGSTER_PG_URL=database_on_server(pg_server, "dagster_topology", "psycopg2"),
        YTMETRICS_YOUTUBE_API_URL=simulator.base_url,
        # the hour is left unobserved on purpose; the watchdog would observe it first
        YTMETRICS_WATCHDOG="off",
        # and so would the hourly schedule, were the test to run across its minute
        YTMETRICS_SNAPSHOT_MINUTE=snapshot_minute_away(),
        # the deployment reads the hour in progress on this test's clock (set back near an
        # hour's end, so the hour stays in progress instead of the test waiting for the next)
        YTMETRICS_TEST_CLOCK_OFFSET_SECONDS=str(current_clock().offset_seconds),
    )
    processes = DagsterProcesses(
        tmp_path / "dagster_home", production_config_with_default_launcher(), env
    )
    try:
        # as compose's depends_on: the webserver and daemon load the code server once it serves
        processes.start("code_server")
        processes.wait_for_code_server()
        processes.start("webserver")
        # the daemon is the test's to start
        yield processes
    finally:
        processes.stop_all()


def test_code_server_webserver_and_daemon_run_a_sensor_launched_snapshot(topology, engine):
    # Registrations queued before the daemon starts: the first tick of the registration
    # sensor picks them up (instead of the test waiting out the sensor's 30 s interval).
    # The sensor picks the hour in progress on the deployment's clock (this test's).
    ids = normal_ids(3)
    queue_registrations(engine, [(v, v) for v in ids], requested_by="test")
    topology.start("daemon")
    topology.wait_for_webserver()
    topology.wait_for_daemon()

    # The webserver loaded the code location from the gRPC server.
    result = topology.graphql()._execute(
        """{ workspaceOrError { ... on Workspace { locationEntries {
               name
               locationOrLoadError { __typename ... on RepositoryLocation {
                 repositories { jobs { name } schedules { name } sensors { name } } } } } } } }"""
    )
    (entry,) = result["workspaceOrError"]["locationEntries"]
    assert entry["name"] == LOCATION
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"
    (repository,) = entry["locationOrLoadError"]["repositories"]
    assert "hourly_snapshot_job" in {j["name"] for j in repository["jobs"]}
    assert "hourly_snapshot_schedule" in {s["name"] for s in repository["schedules"]}
    assert "new_videos_snapshot_sensor" in {s["name"] for s in repository["sensors"]}

    def snapshot_run():
        runs = topology.runs(
            job_name="hourly_snapshot_job",
            tags={"dagster/sensor_name": "new_videos_snapshot_sensor"},
        )
        return runs and runs[0].status in FINISHED and runs[0]

    run = topology.wait(snapshot_run, 240, "a sensor-launched snapshot run to finish", interval=2)
    assert run.status == DagsterRunStatus.SUCCESS, topology.log_tail()
    assert run.tags["dagster/priority"] == str(CURRENT_HOUR_PRIORITY)
    # the hour in progress on the deployment's clock when the sensor asked for the run
    created = topology.instance.get_run_record_by_id(run.run_id).create_timestamp
    created += timedelta(seconds=current_clock().offset_seconds)
    partition = created.strftime("%Y-%m-%d-%H:00")
    assert run.tags["dagster/partition"] == partition
    event = topology.instance.get_latest_materialization_event(
        dg.AssetKey("video_metric_snapshots")
    )
    assert event.run_id == run.run_id
    assert event.asset_materialization.partition == partition
    assert event.asset_materialization.metadata["dagster/row_count"].value == len(ids)
    (registration,) = topology.runs(
        job_name="tracked_videos_job",
        tags={"dagster/sensor_name": "registration_requests_sensor"},
    )
    assert registration.status == DagsterRunStatus.SUCCESS
