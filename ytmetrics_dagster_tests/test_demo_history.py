"""`ytmetrics demo-history` against a real Dagster: a webserver and a daemon started here on a
fresh instance, the warehouse of the tests and the simulator over HTTP. The daemon's backfill
daemon picks the backfill up and runs both assets over the range as one run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from ytmetrics_dagster.surfaces import demo_history
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.warehouse import metric_series

from .helpers import (
    current_hour,
    free_port,
    normal_ids,
    register,
    snapshot_minute_away,
    wait_until,
)

pytestmark = pytest.mark.unit


def test_refuses_the_real_api(monkeypatch, capsys):
    monkeypatch.setenv("YTMETRICS_SOURCE", "youtube")
    monkeypatch.setenv("YOUTUBE_API_KEY", "test-key-not-used")
    # never asked: nothing listens there
    assert main(["demo-history", "--dagster-url", f"http://127.0.0.1:{free_port()}"]) == 2
    err = capsys.readouterr().err
    assert "needs the YouTube simulator" in err and "cannot be observed" in err


def test_refuses_when_dagster_is_not_running(monkeypatch, capsys):
    monkeypatch.setenv("YTMETRICS_SOURCE", "simulator")
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["demo-history", "--hours", "3", "--dagster-url", url]) == 1
    assert f"Dagster is not running at {url}" in capsys.readouterr().err


def test_without_an_address_it_asks_the_ui_of_the_running_make_run(tmp_path, monkeypatch, capsys):
    import fcntl

    from ytmetrics_dagster import data_dir

    monkeypatch.setenv("YTMETRICS_SOURCE", "simulator")
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # nothing running: the default address of `make run`
    assert demo_history.default_url() == demo_history.DEFAULT_URL
    # `make run PORT=…` running (its lock held): its UI, whatever the port (nothing listens)
    served = tmp_path / "served"
    served.mkdir()
    ui = f"http://127.0.0.1:{free_port()}"
    with (served / data_dir.DEV_LOCK_FILE).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        data_dir.record_dev_home(served, ui)
        assert main(["demo-history", "--hours", "3"]) == 1
        assert f"Dagster is not running at {ui}" in capsys.readouterr().err
    # stopped: the default again
    assert demo_history.default_url() == demo_history.DEFAULT_URL


def test_closed_hours_are_the_hours_before_the_current_one():
    now = datetime(2026, 11, 24, 10, 17, tzinfo=UTC)
    assert demo_history.closed_hours(3, now) == [
        "2026-11-24-07:00",
        "2026-11-24-08:00",
        "2026-11-24-09:00",
    ]
    # never before the first partition
    assert demo_history.closed_hours(5, datetime(2026, 1, 1, 2, 30, tzinfo=UTC)) == [
        "2026-01-01-00:00",
        "2026-01-01-01:00",
    ]


@contextmanager
def process(args: list[str], env: dict, log: Path):
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(what: str, predicate, timeout: float, logs: list[Path]):
    def tails() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)

    return wait_until(predicate, timeout, what, details=tails)


def graphql(url: str, query: str, variables: dict | None = None) -> dict | None:
    try:
        response = requests.post(
            url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=10
        )
        return response.json()["data"] if response.status_code == 200 else None
    except requests.RequestException:
        return None


def daemon_heartbeat(url: str) -> float | None:
    data = graphql(url, demo_history._DAEMON)
    return data and data["instance"]["daemonHealth"]["daemonStatus"]["lastHeartbeatTime"]


def backfill_runs(url: str, backfill_id: str) -> list[dict]:
    data = graphql(
        url,
        """
        query($id: String!) {
          runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
            ... on Runs { results { runId status tags { key value } } }
          }
        }
        """,
        {"id": backfill_id},
    )
    return (data or {}).get("runsOrError", {}).get("results", [])


@pytest.mark.system
def test_demo_history_backfills_the_last_hours_on_a_running_dagster(
    engine, resources, simulator, database_url, tmp_path, capsys
):
    ids = normal_ids(2)
    register(engine, resources, ids)

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "YTMETRICS_HOME": str(tmp_path / "ytmetrics"),
        "YTMETRICS_DATABASE_URL": database_url,
        "YTMETRICS_YOUTUBE_API_URL": simulator.base_url,
        "YTMETRICS_SOURCE": "simulator",
        # the backfill's three closed hours are the point here: the hour watchdog would also
        # observe the hour in progress (docs/self-healing.md)
        "YTMETRICS_WATCHDOG": "off",
        # nor the hourly schedule: at minute 5 it observed the hour in progress next to the
        # backfill's three hours (CI at 10:05)
        "YTMETRICS_SNAPSHOT_MINUTE": snapshot_minute_away(),
    }
    env.pop("YOUTUBE_API_KEY", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    target = ["-m", "ytmetrics_dagster.definitions"]
    web_log, daemon_log = tmp_path / "webserver.log", tmp_path / "daemon.log"

    with process(
        [str(bin_dir / "dagster-webserver"), *target, "-h", "127.0.0.1", "-p", str(port)],
        env,
        web_log,
    ):
        wait_for(
            "the webserver",
            lambda: graphql(url, "{ version }"),
            timeout=90,
            logs=[web_log],
        )
        # the webserver alone: nothing would run a backfill
        assert main(["demo-history", "--hours", "3", "--dagster-url", url]) == 1
        assert "daemon is not running" in capsys.readouterr().err

        daemon = [str(bin_dir / "dagster-daemon"), "run", *target]
        # The backfill daemon looks for backfills when it starts and then every 30 s; to keep
        # the test short the daemon is started once (its heartbeat is what the CLI checks),
        # stopped, and started again after the launch, so that it picks the backfill up at once.
        with process(daemon, env, tmp_path / "daemon-first.log"):
            wait_for(
                "the backfill daemon's heartbeat",
                lambda: daemon_heartbeat(url),
                timeout=90,
                logs=[tmp_path / "daemon-first.log"],
            )
        hour = current_hour()
        assert main(["demo-history", "--hours", "3", "--dagster-url", url]) == 0
        out = capsys.readouterr().out
        backfill_id = out.split("launched backfill ", 1)[1].split(":", 1)[0]
        assert f"{url}/runs/b/{backfill_id}" in out

        with process(daemon, env, daemon_log):
            runs = wait_for(
                "the backfill's run to finish",
                lambda: [
                    r
                    for r in backfill_runs(url, backfill_id)
                    if r["status"] in ("SUCCESS", "FAILURE")
                ],
                timeout=120,
                logs=[daemon_log, web_log],
            )
    # one run for the whole range (BackfillPolicy.single_run on both assets)
    assert [r["status"] for r in runs] == ["SUCCESS"]
    tags = {t["key"]: t["value"] for t in runs[0]["tags"]}
    first, last = hour - timedelta(hours=3), hour - timedelta(hours=1)
    assert tags["dagster/asset_partition_range_start"] == first.strftime("%Y-%m-%d-%H:%M")
    assert tags["dagster/asset_partition_range_end"] == last.strftime("%Y-%m-%d-%H:%M")

    # every video observed in each of the three hours, and its hourly growth derived
    for vid in ids:
        growth = metric_series.video_growth_series(engine, vid, days=1)
        assert [h.to_pydatetime() for h in growth.snapshot_hour] == [
            first + timedelta(hours=k) for k in range(3)
        ]
