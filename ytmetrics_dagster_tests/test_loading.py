"""Loading and finding the warehouse (issue #21): the definitions load with no I/O, a command
finds the data directory `make run` serves from any terminal, and a missing warehouse is
reported as missing, with nothing created."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import psutil
import pytest

from ytmetrics_dagster import data_dir
from ytmetrics_dagster.definitions import defs
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[1]
YTMETRICS = str(Path(sys.executable).parent / "ytmetrics")

# Loads the definitions in a fresh interpreter and reports every database connection and
# every process it tried to start. Dagster's vendored croniter runs `file -b <python>` at
# import (platform.architecture()): that one is Dagster's own, and not a server.
LOAD_SCRIPT = r"""
import json, subprocess, sys
attempts = {"connect": [], "processes": []}
import psycopg, psycopg2
_connect, _connect2, _popen = psycopg.connect, psycopg2.connect, subprocess.Popen.__init__
def connect(*a, **k):
    attempts["connect"].append("psycopg")
    return _connect(*a, **k)
def connect2(*a, **k):
    attempts["connect"].append("psycopg2")
    return _connect2(*a, **k)
def popen(self, args, *a, **k):
    attempts["processes"].append(args if isinstance(args, str) else [str(x) for x in args])
    return _popen(self, args, *a, **k)
psycopg.connect, psycopg.Connection.connect = connect, connect
psycopg2.connect, subprocess.Popen.__init__ = connect2, popen
from ytmetrics_dagster.definitions import defs
repo = defs().get_repository_def()
hourly = repo.get_job("hourly_snapshot_job").partitions_def
print(json.dumps({
    "attempts": attempts,
    "jobs": sorted(j.name for j in repo.get_all_jobs()),
    "schedules": sorted(s.name for s in repo.schedule_defs),
    "sensors": sorted(s.name for s in repo.sensor_defs),
    "first_hour": hourly.get_first_partition_key(),
}))
"""


class Listener:
    """A listening socket on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No YTMETRICS_* or DAGSTER_* of the caller; the user's state directory one of its own,
    so `make run`'s record is the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTMETRICS_", "DAGSTER_"))}
    env.update(
        XDG_STATE_HOME=str(tmp_path / "user" / "state"),
        YTMETRICS_SOURCE="simulator",
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


def load_in_subprocess(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def expected_names() -> dict[str, list[str]]:
    repo = defs().get_repository_def()
    return {
        "jobs": sorted(j.name for j in repo.get_all_jobs()),
        "schedules": sorted(s.name for s in repo.schedule_defs),
        "sensors": sorted(s.name for s in repo.sensor_defs),
    }


def assert_loaded_without_io(result, listener: Listener | None, home: Path) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for kind, names in expected_names().items():
        assert loaded[kind] == names, kind
    assert "hourly_snapshot_job" in loaded["jobs"] and len(loaded["sensors"]) >= 16
    assert loaded["attempts"]["connect"] == []
    # the only process started while loading is Dagster's own `file -b` (see LOAD_SCRIPT)
    assert all(args[0] == "file" for args in loaded["attempts"]["processes"]), loaded
    if listener is not None:
        assert listener.accepted == 0
    assert not (home / "pgdata").exists()
    assert postgres_processes_under(home) == []
    return loaded


def test_definitions_load_with_no_database_connection_and_no_process(tmp_path):
    """An external warehouse configured but never reached: a listener records any attempt."""
    home = tmp_path / "home"
    listener = Listener()
    try:
        env = clean_env(
            tmp_path,
            YTMETRICS_HOME=str(home),
            YTMETRICS_DATABASE_URL=f"postgresql://ytm:secret@127.0.0.1:{listener.port}/ytm",
            YTMETRICS_PARTITIONS_START="2026-02-03",
        )
        result = load_in_subprocess(env, tmp_path)
        loaded = assert_loaded_without_io(result, listener, home)
    finally:
        listener.close()
    assert loaded["first_hour"] == "2026-02-03-00:00"


def test_definitions_load_without_connecting_to_a_reachable_warehouse(tmp_path, database_url):
    """With a warehouse up and migrated (the tests' own), loading still never connects."""
    home = tmp_path / "home"
    env = clean_env(tmp_path, YTMETRICS_HOME=str(home), YTMETRICS_DATABASE_URL=database_url)
    env.pop("YTMETRICS_PARTITIONS_START", None)
    data_dir.record_partitions_start(home, date(2026, 1, 5))
    loaded = assert_loaded_without_io(load_in_subprocess(env, tmp_path), None, home)
    assert loaded["first_hour"] == "2026-01-05-00:00"


def test_definitions_load_from_the_day_recorded_in_the_data_directory(tmp_path):
    """No warehouse at all (embedded, none created yet), no YTMETRICS_PARTITIONS_START: the
    first day recorded at migration is used, and no embedded Postgres is started."""
    home = tmp_path / "home"
    data_dir.record_partitions_start(home, date(2026, 3, 4))
    result = load_in_subprocess(clean_env(tmp_path, YTMETRICS_HOME=str(home)), tmp_path)
    loaded = assert_loaded_without_io(result, None, home)
    assert loaded["first_hour"] == "2026-03-04-00:00"


def test_definitions_without_a_first_day_say_what_to_run(tmp_path):
    home = tmp_path / "home"
    listener = Listener()
    try:
        env = clean_env(
            tmp_path,
            YTMETRICS_HOME=str(home),
            YTMETRICS_DATABASE_URL=f"postgresql://ytm@127.0.0.1:{listener.port}/ytm",
        )
        result = load_in_subprocess(env, tmp_path)
    finally:
        listener.close()
    assert result.returncode != 0
    assert "the time partitions' first day is not configured" in result.stderr
    assert "ytmetrics db upgrade" in result.stderr
    assert "YTMETRICS_PARTITIONS_START=YYYY-MM-DD" in result.stderr
    assert str(home / "partitions_start") in result.stderr
    assert listener.accepted == 0
    assert not home.exists()


def test_a_malformed_recorded_day_is_a_clear_error(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "partitions_start").write_text("yesterday\n")
    with pytest.raises(data_dir.RecordedDayError, match="YYYY-MM-DD"):
        data_dir.recorded_partitions_start(home)


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [YTMETRICS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_a_read_where_no_warehouse_exists_says_so_and_creates_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere"  # not a checkout: its data directory is ./.ytmetrics
    elsewhere.mkdir()
    for command in (["videos"], ["requests", "--format", "json"], ["db", "url"]):
        result = run_cli(command, clean_env(tmp_path), elsewhere)
        assert result.returncode == 1, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert f"no warehouse in the data directory {elsewhere / '.ytmetrics'}" in lines[0]
        assert "`make run`" in lines[0] and "`ytmetrics db upgrade`" in lines[0]
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert list(elsewhere.iterdir()) == []  # no data directory, no pgdata
    assert postgres_processes_under(tmp_path) == []


def test_an_existing_but_unmigrated_warehouse_is_told_to_upgrade(tmp_path):
    home = tmp_path / "home"
    start_embedded_postgres(home / "pgdata")  # initialised, never migrated
    try:
        result = run_cli(["videos"], clean_env(tmp_path, YTMETRICS_HOME=str(home)), tmp_path)
    finally:
        stop_embedded_postgres(home / "pgdata")
    assert result.returncode == 1
    assert "run `ytmetrics db upgrade`" in result.stderr
    assert "no warehouse in" not in result.stderr


def test_db_upgrade_creates_the_warehouse_and_records_its_first_day(tmp_path):
    """The one command besides `make run` that creates an embedded warehouse; then the
    definitions load from the data directory alone, and a read finds the warehouse."""
    home = tmp_path / "home"
    env = clean_env(tmp_path, YTMETRICS_HOME=str(home))
    try:
        upgraded = run_cli(["db", "upgrade"], env, tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        recorded = data_dir.recorded_partitions_start(home)
        assert recorded is not None
        assert f"first day (YTMETRICS_PARTITIONS_START): {recorded}" in upgraded.stdout
        assert f"recorded in {home / 'partitions_start'}" in upgraded.stdout
        listed = run_cli(["videos", "--format", "json"], env, tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["videos"] == []
    finally:
        stop_embedded_postgres(home / "pgdata")


def test_the_dev_record_is_followed_only_while_its_make_run_serves_it(tmp_path, monkeypatch):
    import fcntl

    from ytmetrics_dagster.settings import dev_home, load_settings

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("YTMETRICS_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    lock = (served / "dev.lock").open("w")  # what `ytmetrics dev` holds while it runs
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    path = data_dir.record_dev_home(served, "http://127.0.0.1:3001")
    assert path.parent == tmp_path / "state" / "ytmetrics"
    assert json.loads(path.read_text())["home"] == str(served)
    assert load_settings().home == served
    assert data_dir.recorded_dev_ui_url() == "http://127.0.0.1:3001"
    # `ytmetrics dev` itself keeps to YTMETRICS_HOME or the default
    assert dev_home() == tmp_path / ".ytmetrics"
    # stopped (its lock file stays behind): the record leads nowhere any more
    lock.close()
    assert (served / "dev.lock").is_file()
    assert data_dir.recorded_dev_home() is None
    assert data_dir.recorded_dev_ui_url() is None
    assert load_settings().home == tmp_path / ".ytmetrics"
    (served / "dev.lock").unlink()
    assert data_dir.recorded_dev_home() is None
    path.write_text("not json")
    assert data_dir.recorded_dev_home() is None


def test_db_upgrade_where_the_day_cannot_be_recorded_warns_and_still_upgrades(
    engine, tmp_path, monkeypatch, capsys
):
    """A read-only image (the compose migrate service) sets YTMETRICS_PARTITIONS_START instead."""
    from ytmetrics_dagster.surfaces.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("YTMETRICS_HOME", str(blocker / "home"))  # cannot be a directory
    assert main(["db", "upgrade"]) == 0
    captured = capsys.readouterr()
    assert "is at revision" in captured.out
    assert captured.err.startswith(f"warning: could not record it in {blocker / 'home'}")
    assert "set YTMETRICS_PARTITIONS_START=" in captured.err
