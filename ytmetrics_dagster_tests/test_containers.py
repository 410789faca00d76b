"""The compose deployment (deploy/docker-compose.yaml) run for real (issue #22): the images built
from deploy/Dockerfile, every service on the host's network, runs in their own containers
(DockerRunLauncher), in real-API mode against the simulator served by this test on 127.0.0.1.
Faults are crashes: the main process of a container is SIGKILLed from the host (`docker kill`
is a stop by a person, which Docker's restart policies deliberately do not undo).

Needs a docker engine and docker-compose (or the compose plugin): .ci/run installs and starts
them, and builds the local base images (deploy/base-image/build.sh) used here when present.
Without an engine the test is skipped, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml
from dagster import DagsterRunStatus
from dagster._core.storage.tags import DOCKER_IMAGE_TAG
from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG
from sqlalchemy import text

from ytmetrics_dagster.warehouse.engine import get_engine
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster_tests.dagster_processes import DEPLOY, ROOT, free_port
from ytmetrics_dagster_tests.helpers import normal_ids
from ytmetrics_dagster_tests.helpers import wait_until as wait

pytestmark = [pytest.mark.system, pytest.mark.containers]

KEY = "AIzaSy-containers-test-key-0000"
PASSWORD = "containers-test-password"
CODE_SERVER_PORT = 4000  # deploy/workspace.yaml
LOCAL_BASE = "ytmetrics-base:bookworm"
LOCAL_POSTGRES = "ytmetrics-postgres:bookworm"
IMAGE_TAG = "containers-test"
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
# a crashed service is back within this (Docker restarts it at once; its start takes the rest)
RESTART_BOUND_SECONDS = 120
# collection resumes within this after a crash (issue #22's goal: 2 minutes)
RESUME_BOUND_SECONDS = 180


def docker_unavailable() -> str | None:
    if not shutil.which("docker"):
        return "no docker CLI"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        return "no docker engine: " + (info.stderr.strip().splitlines() or ["?"])[-1]
    if not compose_command():
        return "neither docker-compose nor the docker compose plugin"
    return None


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
    return ["docker", "compose"] if plugin.returncode == 0 else None


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


class Deployment:
    """One compose project on this machine, its ports free ones of 127.0.0.1."""

    def __init__(self, home: Path, simulator_url: str):
        self.project = f"ytmetrics-test-{os.getpid()}"
        self.pg_port, self.web_port, self.dashboard_port = free_port(), free_port(), free_port()
        self.prometheus_port = free_port()
        self.env = dict(
            os.environ,
            POSTGRES_PASSWORD=PASSWORD,
            YOUTUBE_API_KEY=KEY,
            YTMETRICS_YOUTUBE_API_URL=simulator_url,
            YTMETRICS_PARTITIONS_START=datetime.now(UTC).date().isoformat(),
            YTMETRICS_CADENCE="*:1h",
            YTMETRICS_POSTGRES_PORT=str(self.pg_port),
            YTMETRICS_WEB_PORT=str(self.web_port),
            YTMETRICS_DASHBOARD_PORT=str(self.dashboard_port),
            YTMETRICS_PROMETHEUS_PORT=str(self.prometheus_port),
            PROMETHEUS_BASE_IMAGE=os.environ.get(
                "PROMETHEUS_BASE_IMAGE",
                LOCAL_BASE if image_exists(LOCAL_BASE) else "debian:bookworm-slim",
            ),
            YTMETRICS_IMAGE_TAG=IMAGE_TAG,
            DOCKER_GID=str(os.stat("/var/run/docker.sock").st_gid),
            # the local Debian images where Docker Hub is out of reach (CI), else the public ones
            BASE_IMAGE=os.environ.get(
                "BASE_IMAGE",
                LOCAL_BASE if image_exists(LOCAL_BASE) else "python:3.11-slim-bookworm",
            ),
            YTMETRICS_POSTGRES_IMAGE=os.environ.get(
                "YTMETRICS_POSTGRES_IMAGE",
                LOCAL_POSTGRES if image_exists(LOCAL_POSTGRES) else "postgres:16",
            ),
        )
        self.database_url = f"postgresql://ytmetrics:{PASSWORD}@127.0.0.1:{self.pg_port}/ytmetrics"
        dagster_url = f"postgresql+psycopg2://ytmetrics:{PASSWORD}@127.0.0.1:{self.pg_port}/dagster"
        self.home = home
        (home / "dagster.yaml").write_text(
            yaml.safe_dump({"storage": {"postgres": {"postgres_url": dagster_url}}})
        )
        self._instance: dg.DagsterInstance | None = None

    def compose(self, *args: str, timeout: float = 600) -> str:
        argv = [
            *compose_command(),
            "-p",
            self.project,
            "-f",
            str(DEPLOY / "docker-compose.yaml"),
            *args,
        ]
        done = subprocess.run(
            argv, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, (
            f"{' '.join(args)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
        return done.stdout

    def container(self, service: str) -> str:
        (container_id,) = self.compose("ps", "-q", service).split()
        return container_id

    def inspect(self, service: str) -> dict:
        out = subprocess.run(
            ["docker", "inspect", self.container(service)], capture_output=True, text=True
        )
        return json.loads(out.stdout)[0]

    def crash(self, service: str) -> dict:
        """SIGKILL the container's main process, as a crash or the OOM killer would."""
        state = self.inspect(service)
        os.kill(state["State"]["Pid"], signal.SIGKILL)
        return state

    def wait_restarted(self, service: str, before: dict, killed: float) -> float:
        """Seconds from ``killed`` (monotonic) until Docker's restart policy has the service
        running again."""

        def restarted() -> bool:
            state = self.inspect(service)
            return (
                state["RestartCount"] > before["RestartCount"]
                and state["State"]["Running"]
                and state["State"]["Pid"] != before["State"]["Pid"]
            )

        wait(restarted, RESTART_BOUND_SECONDS, f"Docker to restart {service}")
        return time.monotonic() - killed

    def logs(self, tail: int = 60) -> str:
        with contextlib.suppress(Exception):
            done = subprocess.run(
                [*compose_command(), "-p", self.project, "-f", str(DEPLOY / "docker-compose.yaml")]
                + ["logs", "--no-color", "--tail", str(tail)],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            return done.stdout[-20000:]
        return ""

    # -- what the services answer ------------------------------------------------------------

    def webserver_up(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.web_port}/server_info", timeout=5).ok
        except requests.RequestException:
            return False

    def dashboard_up(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.dashboard_port}/", timeout=5).ok
        except requests.RequestException:
            return False

    def code_server_up(self) -> bool:
        from dagster._grpc.client import DagsterGrpcClient

        try:
            client = DagsterGrpcClient(port=CODE_SERVER_PORT, host="127.0.0.1")
            client.ping("up")
            return True
        except Exception:
            return False

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.home))
        return self._instance

    def daemon_beating(self, since: datetime) -> bool:
        try:
            heartbeats = self.instance.get_daemon_heartbeats()
        except Exception:
            return False
        wanted = {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING"}
        return wanted <= {
            name
            for name, beat in heartbeats.items()
            if datetime.fromtimestamp(beat.timestamp, UTC) > since
        }

    def runs(self, job: str) -> list:
        try:
            return list(self.instance.get_runs(dg.RunsFilter(job_name=job)))
        except Exception:  # the storage restarting
            return []


def crash_kill_runs() -> None:
    """Run containers this machine's DockerRunLauncher started and left running."""
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", "label=dagster/run_id"], capture_output=True, text=True
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, simulator_server):
    reason = docker_unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the container test, but {reason}")
        pytest.skip(reason)
    deployment = Deployment(tmp_path_factory.mktemp("containers"), simulator_server.base_url)
    try:
        deployment.compose("build", "migrate", "prometheus", timeout=1200)
        deployment.compose("up", "-d", timeout=600)
        wait(deployment.webserver_up, 180, "the webserver")
        wait(deployment.code_server_up, 180, "the code server")
        wait(deployment.dashboard_up, 180, "the dashboard")
        wait(
            lambda: deployment.daemon_beating(datetime.now(UTC) - timedelta(minutes=1)),
            180,
            "the daemon's heartbeats",
        )
        yield deployment
    except BaseException:
        print(deployment.logs())
        raise
    finally:
        if deployment._instance is not None:
            deployment._instance.dispose()
        crash_kill_runs()
        with contextlib.suppress(Exception):
            deployment.compose("down", "-v", "--remove-orphans", timeout=300)


def test_the_image_runs_every_service_with_a_restart_policy_on_the_hosts_network(deployment):
    for service in ("postgres", "user_code", "webserver", "daemon", "dashboard"):
        config = deployment.inspect(service)["HostConfig"]
        assert config["NetworkMode"] == "host", service
        assert config["RestartPolicy"]["Name"] in ("always", "unless-stopped"), service
    migrate = deployment.inspect("migrate")["State"]
    assert migrate["Status"] == "exited" and migrate["ExitCode"] == 0


def snapshot_rows(engine, hour: datetime) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT video_id, count(*) FROM ytmetrics.snapshots "
                "WHERE snapshot_hour = :hour GROUP BY video_id"
            ),
            {"hour": hour},
        ).all()
    return dict(rows)


def missed(engine, hour: datetime) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT reason FROM ytmetrics.missed_hours WHERE snapshot_hour = :hour"),
            {"hour": hour},
        ).scalar()


def observed_or_recorded(engine, hour: datetime, videos: list[str]) -> str | None:
    try:
        rows = snapshot_rows(engine, hour)
        if set(videos) <= set(rows):
            return "observed"
        reason = missed(engine, hour)
        return f"recorded as missed ({reason})" if reason else None
    except Exception:  # the warehouse restarting
        return None


def run_story(instance: dg.DagsterInstance, run_id: str) -> str:
    """What a run's event log says, for a failed assertion: each event's type and message (the
    error of a failed step included)."""
    lines = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        kind = event.event_type_value if event else "LOG"
        error = getattr(event.event_specific_data, "error", None) if event else None
        lines.append(f"{kind}: {entry.message or ''}{f' | {error.to_string()}' if error else ''}")
    return "\n".join(lines[-40:])


def hour_with_time_left(minutes: int) -> datetime:
    """The hour in progress, once at least ``minutes`` of it are left (so the scenario's runs
    observe one hour, not the next after the schedule's tick)."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    left = (hour + timedelta(hours=1) - now).total_seconds()
    if left < minutes * 60:
        time.sleep(left + 5)
        hour += timedelta(hours=1)
    return hour


def test_crashed_daemon_and_postgres_are_restarted_and_the_hour_is_kept(deployment, simulator):
    engine = get_engine(deployment.database_url)
    timings: dict[str, float] = {}
    try:
        hour = hour_with_time_left(8)
        videos = normal_ids(3)
        # Each API call takes long enough (under the client's 10 s read timeout) that the new
        # videos' first observation is in flight when the daemon and the warehouse die.
        simulator.state.latency_seconds = 6
        queue_registrations(engine, [(v, v) for v in videos])

        # The registration sensor launches tracked_videos in its own container, then the
        # new-videos sensor launches the hour's observation of them.
        registration = wait(
            lambda: deployment.runs("tracked_videos_job"), 120, "the registration run"
        )[0]
        snapshot_run = wait(
            lambda: [
                r
                for r in deployment.runs("hourly_snapshot_job")
                if r.status == DagsterRunStatus.STARTED
            ],
            240,
            "the new videos' snapshot run",
        )[0]
        assert snapshot_run.tags["dagster/partition"] == hour.strftime("%Y-%m-%d-%H:00")
        wait(lambda: simulator.state.in_flight > 0, 60, "the snapshot run to call the API")
        # its materialization (what the new-videos sensor reacts to) comes before the run's
        # container has finished: the run ends SUCCESS a moment later
        registration = wait(
            lambda: (
                r
                if (r := deployment.instance.get_run_by_id(registration.run_id)).status
                in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
                else None
            ),
            120,
            "the registration run to end",
        )
        assert registration.status == DagsterRunStatus.SUCCESS, run_story(
            deployment.instance, registration.run_id
        )
        # each run in its own container of the user-code image (DockerRunLauncher)
        for run in (registration, deployment.instance.get_run_by_id(snapshot_run.run_id)):
            assert run.tags.get(DOCKER_CONTAINER_ID_TAG), run.tags
            assert run.tags.get(DOCKER_IMAGE_TAG) == f"ytmetrics-user-code:{IMAGE_TAG}"

        # -- the daemon and Postgres crash mid-hour, the observation in flight ---------------
        killed_at = datetime.now(UTC)
        killed = time.monotonic()
        daemon_before = deployment.crash("daemon")
        postgres_before = deployment.crash("postgres")
        timings["daemon_restarted_s"] = deployment.wait_restarted("daemon", daemon_before, killed)
        timings["postgres_restarted_s"] = deployment.wait_restarted(
            "postgres", postgres_before, killed
        )
        simulator.state.latency_seconds = 0
        wait(
            lambda: observed_or_recorded(engine, hour, []) is not None,
            RESTART_BOUND_SECONDS,
            "the warehouse to answer",
        )
        timings["postgres_answering_s"] = time.monotonic() - killed
        wait(
            lambda: deployment.daemon_beating(killed_at),
            RESTART_BOUND_SECONDS,
            "the restarted daemon's heartbeats",
        )
        timings["daemon_beating_s"] = time.monotonic() - killed
        outcome = wait(
            lambda: observed_or_recorded(engine, hour, videos),
            RESUME_BOUND_SECONDS,
            "the hour to be observed or recorded as missed",
            interval=2,
        )
        timings["hour_kept_s"] = time.monotonic() - killed
        print(f"daemon + postgres crash: {outcome}; {json.dumps(timings)}")

        # -- the webserver and the code server crash ------------------------------------------
        killed = time.monotonic()
        web_before = deployment.crash("webserver")
        code_before = deployment.crash("user_code")
        timings["webserver_restarted_s"] = deployment.wait_restarted(
            "webserver", web_before, killed
        )
        timings["code_server_restarted_s"] = deployment.wait_restarted(
            "user_code", code_before, killed
        )
        wait(deployment.webserver_up, RESTART_BOUND_SECONDS, "the webserver to answer")
        timings["webserver_answering_s"] = time.monotonic() - killed
        wait(deployment.code_server_up, RESTART_BOUND_SECONDS, "the code server to answer")
        timings["code_server_answering_s"] = time.monotonic() - killed
        # collection resumes: videos registered now are observed in this hour without help
        later = normal_ids(5)[3:]
        queue_registrations(engine, [(v, v) for v in later])
        wait(
            lambda: set(later) <= set(snapshot_rows(engine, hour)),
            RESUME_BOUND_SECONDS,
            "videos registered after the code server's crash to be observed",
            interval=2,
        )
        timings["collection_resumed_s"] = time.monotonic() - killed
        print(f"webserver + code server crash: {json.dumps(timings)}")

        # -- nothing lost, nothing twice, every call in the ledger ----------------------------
        wait(
            lambda: all(
                r.status in FINISHED
                for job in ("tracked_videos_job", "hourly_snapshot_job")
                for r in deployment.runs(job)
            ),
            RESUME_BOUND_SECONDS,
            "the runs to finish",
        )
        rows = snapshot_rows(engine, hour)
        if outcome == "observed":
            assert set(videos) | set(later) <= set(rows), rows
        assert all(count == 1 for count in rows.values()), rows  # unique (video, hour)
        with engine.connect() as conn:
            calls = conn.execute(text("SELECT count(*) FROM ytmetrics.api_calls")).scalar()
            units = conn.execute(text("SELECT sum(units) FROM ytmetrics.api_calls")).scalar()
        served = sum(simulator.state.requests_by_method.values())
        assert calls == served, (calls, served)
        assert units == simulator.state.units_used_today()
        snapshot_runs = [
            f"{r.status.value}{' (retry)' if 'dagster/parent_run_id' in r.tags else ''}"
            for r in reversed(deployment.runs("hourly_snapshot_job"))
        ]
        print(
            f"hour {hour:%H:00}: {outcome}; rows {len(rows)} for {len(videos) + len(later)} "
            f"videos, duplicates 0; ledger {calls} calls / simulator {served} requests; "
            f"snapshot runs {snapshot_runs}"
        )
        for value in timings.values():
            assert value < RESUME_BOUND_SECONDS
    except BaseException:
        print(json.dumps(timings))
        raise
    finally:
        simulator.state.latency_seconds = 0
        engine.dispose()


def test_prometheus_scrapes_the_dashboards_metrics(deployment):
    """Compose's Prometheus (Debian's package) scrapes the dashboard's /metrics: the target is
    up and the ytmetrics_* series are stored (scrape interval 60 s)."""
    config = deployment.inspect("prometheus")["HostConfig"]
    assert config["NetworkMode"] == "host"
    assert config["RestartPolicy"]["Name"] in ("always", "unless-stopped")
    api = f"http://127.0.0.1:{deployment.prometheus_port}/api/v1/query"

    def query(expr: str) -> list:
        try:
            answer = requests.get(api, params={"query": expr}, timeout=5).json()
        except (requests.RequestException, ValueError):
            return []
        return answer.get("data", {}).get("result", [])

    up = wait(lambda: query('up{job="ytmetrics"} == 1'), 180, "Prometheus scraping /metrics")
    assert up[0]["metric"]["instance"] == f"127.0.0.1:{deployment.dashboard_port}"
    stored = wait(lambda: query('count({__name__=~"ytmetrics_.+"})'), 60, "ytmetrics series")
    assert int(stored[0]["value"][1]) > 10


def test_every_service_reports_healthy(deployment):
    """Each long-running service's healthcheck passes (after the crashes above, too): what
    `docker ps` shows an operator, and what a crash loop would turn to unhealthy."""
    services = ("postgres", "user_code", "webserver", "daemon", "dashboard")

    def health() -> dict[str, str]:
        return {s: deployment.inspect(s)["State"]["Health"]["Status"] for s in services}

    try:
        wait(lambda: set(health().values()) == {"healthy"}, 240, "every service to be healthy")
    except AssertionError:
        raise AssertionError(f"not every service is healthy: {health()}") from None
