"""`ytmetrics dev` (what `make run` runs) as a user meets it: a taken port fails at once with
what to do, and SIGTERM stops the webserver, daemon and code server within 10 s."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import psutil
import pytest
import requests

from ytmetrics_dagster.runtime.devserver import PortInUseError, ensure_port_free
from ytmetrics_dagster.warehouse.engine import database_on_server
from ytmetrics_dagster_tests.dagster_processes import free_port

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[1]
YTMETRICS = str(Path(sys.executable).parent / "ytmetrics")


def dev_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTMETRICS_", "DAGSTER_"))}
    env.update(
        YTMETRICS_HOME=str(tmp_path / "home"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        YTMETRICS_SOURCE="simulator",
        YTMETRICS_DASHBOARD_PORT=str(free_port()),
    )
    env.update(extra)
    return env


def postgres_processes_under(path: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(path) in cmdline and "postgres" in cmdline:
            found.append(cmdline)
    return found


def assert_nothing_started(tmp_path: Path) -> None:
    """A refusal before anything started: no database initialised, no server left running."""
    assert not (tmp_path / "home" / "pgdata").exists()
    assert postgres_processes_under(tmp_path) == []


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_a_taken_port_fails_fast_naming_the_port_and_the_fix(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [YTMETRICS, "dev", "--port", str(port)],
            env=dev_env(tmp_path),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"make run PORT={port + 1}" in result.stderr
    assert "Dagster UI" not in result.stdout
    # nothing was started: no database, no Dagster home
    assert not (tmp_path / "home").exists() and not (tmp_path / "dagster_home").exists()
    assert time.monotonic() - started < 30
    assert_nothing_started(tmp_path)


def test_a_taken_dashboard_port_refuses_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [YTMETRICS, "dev", "--port", str(free_port())],
            env=dev_env(tmp_path, YTMETRICS_DASHBOARD_PORT=str(port)),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"make run YTMETRICS_DASHBOARD_PORT={port + 1}" in result.stderr
    assert "Dagster UI" not in result.stdout and "warehouse:" not in result.stdout
    assert_nothing_started(tmp_path)


def test_the_real_api_without_a_key_refuses_before_the_embedded_warehouse_starts(tmp_path):
    """The embedded warehouse (no YTMETRICS_DATABASE_URL): refused before initdb."""
    env = dev_env(tmp_path, YTMETRICS_SOURCE="youtube")
    env.pop("YOUTUBE_API_KEY", None)
    result = subprocess.run(
        [YTMETRICS, "dev", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: YTMETRICS_SOURCE is 'youtube'")
    assert "YOUTUBE_API_KEY is not set" in result.stderr
    assert "warehouse:" not in result.stdout and "Dagster UI" not in result.stdout
    assert_nothing_started(tmp_path)
    assert not (tmp_path / "dagster_home").exists()


@pytest.mark.unit
def test_ensure_port_free_accepts_a_free_port_and_refuses_a_listening_one():
    port = free_port()
    ensure_port_free(port)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        try:
            ensure_port_free(port)
        except PortInUseError as err:
            assert str(port) in str(err)
        else:
            raise AssertionError("a listening port was taken for free")


def test_sigterm_stops_the_webserver_daemon_and_code_server_within_10_seconds(tmp_path, pg_server):
    port = free_port()
    env = dev_env(
        tmp_path,
        YTMETRICS_DATABASE_URL=database_on_server(pg_server, "ytmetrics_devserver", "psycopg"),
    )
    dev = subprocess.Popen(
        [YTMETRICS, "dev", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(dev.stdout), daemon=True)
    reader.start()
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while not any("Dagster UI:" in line for line in lines):
            assert dev.poll() is None, "".join(lines[-50:])
            assert time.monotonic() < deadline, "no UI after 240 s:\n" + "".join(lines[-50:])
            time.sleep(0.5)
        assert requests.get(f"http://127.0.0.1:{port}/server_info", timeout=10).ok
        # the analysts' dashboard is served next to the UI, and the UI links to it
        dashboard = f"http://127.0.0.1:{env['YTMETRICS_DASHBOARD_PORT']}"
        assert any(f"Dashboard:  {dashboard}" in line for line in lines)
        assert requests.get(dashboard + "/", timeout=10).ok
        children = psutil.Process(dev.pid).children(recursive=True)
        commands = " ".join(" ".join(c.cmdline()) for c in alive(children))
        for part in (
            "dagster_webserver",
            "dagster._daemon",
            "code-server start",
            "api grpc",
            "ytmetrics_dagster.surfaces.dashboard",
        ):
            assert part in commands, commands

        stopping = time.monotonic()
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(timeout=15) == 0, "".join(lines[-50:])
        while alive(children) and time.monotonic() - stopping < 15:
            time.sleep(0.1)
        took = time.monotonic() - stopping
        escalated = [line.strip() for line in lines if "with SIGKILL" in line]
        print(f"ytmetrics dev stopped in {took:.1f} s; escalations: {escalated}")
        assert not alive(children), [c.cmdline() for c in alive(children)]
        assert took < 10, f"stopping took {took:.1f} s"
    finally:
        if dev.poll() is None:
            dev.kill()
        for child in alive(children):
            child.kill()


def test_the_real_api_without_a_key_does_not_start(tmp_path, pg_server):
    env = dev_env(
        tmp_path,
        YTMETRICS_SOURCE="youtube",
        YTMETRICS_DATABASE_URL=database_on_server(
            pg_server, "ytmetrics_devserver_nokey", "psycopg"
        ),
    )
    env.pop("YOUTUBE_API_KEY", None)
    result = subprocess.run(
        [YTMETRICS, "dev", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "YTMETRICS_SOURCE" in result.stderr and "YOUTUBE_API_KEY" in result.stderr
    assert "Dagster UI" not in result.stdout


def test_a_second_dev_on_the_same_data_refuses(tmp_path):
    from ytmetrics_dagster.runtime.devserver import AlreadyRunningError, hold_home

    home = tmp_path / "home"
    first = hold_home(home)
    try:
        result = subprocess.run(
            [YTMETRICS, "dev", "--port", str(free_port())],
            env=dev_env(tmp_path),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert "another `ytmetrics dev` (make run) is already using" in result.stderr
        assert "YTMETRICS_HOME=" in result.stderr
        assert_nothing_started(tmp_path)
        try:
            hold_home(home)
        except AlreadyRunningError:
            pass
        else:
            raise AssertionError("a held data directory was taken twice")
    finally:
        first.close()
    hold_home(home).close()  # free again once the first one is gone


def test_the_real_api_does_not_start_on_a_warehouse_of_simulated_data(tmp_path, pg_server):
    from sqlalchemy import text

    from ytmetrics_dagster.warehouse.engine import get_engine
    from ytmetrics_dagster.warehouse.migrate import upgrade

    url = database_on_server(pg_server, "ytmetrics_devserver_demo", "psycopg")
    engine = get_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.videos (video_id, title, status, source) "
                "VALUES ('AAAAAAAAAAA', '[SIMULATED] demo', 'active', 'simulator') "
                "ON CONFLICT DO NOTHING"
            )
        )
    env = dev_env(
        tmp_path,
        YTMETRICS_SOURCE="youtube",
        YOUTUBE_API_KEY="a-key-that-is-never-used",
        YTMETRICS_DATABASE_URL=url,
    )
    result = subprocess.run(
        [YTMETRICS, "dev", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "holds simulated data" in result.stderr and "never mixed" in result.stderr
    assert "a-key-that-is-never-used" not in result.stderr + result.stdout
    assert "Dagster UI" not in result.stdout


def test_every_terminal_finds_the_warehouse_make_run_serves(tmp_path):
    """`ytmetrics dev` on the embedded warehouse of a data directory given only to it: a
    command in another directory, without YTMETRICS_HOME, reads that warehouse (the demo's
    requests); with no record to follow, the same command says there is no warehouse there and
    creates none. The definitions' first day is recorded in the data directory."""
    home = tmp_path / "home"
    state = tmp_path / "state"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dev_env(tmp_path, XDG_STATE_HOME=str(state))
    dev = subprocess.Popen(
        [YTMETRICS, "dev", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(dev.stdout), daemon=True)
    reader.start()
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while not any("Dagster UI:" in line for line in lines):
            assert dev.poll() is None, "".join(lines[-50:])
            assert time.monotonic() < deadline, "no UI after 240 s:\n" + "".join(lines[-50:])
            time.sleep(0.5)
        children = psutil.Process(dev.pid).children(recursive=True)
        assert any(f"data directory: {home} (recorded in {state}" in line for line in lines)
        assert (home / "partitions_start").is_file()

        other = {k: v for k, v in env.items() if k not in ("YTMETRICS_HOME", "DAGSTER_HOME")}
        listed = subprocess.run(
            [YTMETRICS, "requests", "--format", "json"],
            env=other,
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr
        requests_ = json.loads(listed.stdout)["requests"]
        assert requests_ and {r["requested_by"] for r in requests_} == {"demo"}
        url = subprocess.run(
            [YTMETRICS, "db", "url"], env=other, cwd=elsewhere, capture_output=True, text=True
        )
        assert url.returncode == 0, url.stderr
        assert f"host={home / 'pgdata'}" in unquote(url.stdout)  # its own server's socket

        # without the record (another user state directory): missing, and nothing created
        unrecorded = dict(other, XDG_STATE_HOME=str(tmp_path / "other-state"))
        missing = subprocess.run(
            [YTMETRICS, "videos"],
            env=unrecorded,
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert missing.returncode == 1
        assert f"no warehouse in the data directory {elsewhere / '.ytmetrics'}" in missing.stderr
        assert list(elsewhere.iterdir()) == []
    finally:
        if dev.poll() is None:
            dev.send_signal(signal.SIGTERM)
            try:
                dev.wait(30)
            except subprocess.TimeoutExpired:
                dev.kill()
        for child in alive(children):
            child.kill()
