"""`ytmetrics db backup` / `db restore`: pg_dump -Fc and pg_restore of real warehouses (an
external URL on the test server, and an embedded server of its own), compared table by table."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.services.alerting import raise_alert
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.warehouse import backup as backup_module
from ytmetrics_dagster.warehouse.embedded import stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine, warehouse_url
from ytmetrics_dagster.warehouse.migrate import require_current, upgrade

from .helpers import DAY, hour_range, normal_ids, register, spend_units

pytestmark = pytest.mark.db

EMBEDDED_BIN = str(backup_module.embedded_bin_dir())
PASSWORD = "pw-S3cret-backup"


def fingerprint(engine) -> dict[str, tuple[int, str]]:
    """Rows and an md5 of every row's text per table of the warehouse schemas, whatever the
    tables are (found in pg_class; partitions counted in their parent)."""
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                """
                SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname LIKE 'ytmetrics%' AND c.relkind IN ('r', 'p')
                  AND NOT c.relispartition
                ORDER BY 1
                """
            )
        ).scalars()
        return {
            table: tuple(
                conn.execute(
                    text(
                        f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' "
                        f"ORDER BY t::text), '')) FROM {table} t"
                    )
                ).one()
            )
            for table in tables
        }


def populate(url: str, simulator, n_videos: int = 30, hours: int = 6) -> None:
    """Every kind of row: videos, requests, snapshots over a few hours, growth, ledger, alert."""
    engine = get_engine(url)
    upgrade(engine)
    resources = {
        "youtube": YouTubeResource(source="simulator", base_url=simulator.base_url),
        "warehouse": WarehouseResource(database_url=url),
        "clock": ClockResource(),
    }
    register(engine, resources, normal_ids(n_videos))
    first, last = DAY, DAY + timedelta(hours=hours - 1)
    for asset in (video_metric_snapshots, video_growth_hourly):
        assert dg.materialize([asset], resources=resources, tags=hour_range(first, last)).success
    spend_units(engine, 1, DAY)
    raise_alert(engine, "quota", "quota:backup-test", "quota high", {"units": 1})


def wipe(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA ytmetrics CASCADE"))
    engine.dispose()


@pytest.fixture
def external_db(pg_server, monkeypatch):
    """A warehouse of its own on the test server, reached as a password-protected role."""
    url = database_on_server(pg_server, "ytmetrics_backup_test", "psycopg")
    admin = get_engine(url)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS ytmetrics CASCADE"))
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'ytm_backup'")).first()
        if not exists:
            conn.execute(text(f"CREATE ROLE ytm_backup LOGIN SUPERUSER PASSWORD '{PASSWORD}'"))
    role_url = make_url(url).set(username="ytm_backup", password=PASSWORD)
    role_url = role_url.render_as_string(hide_password=False)
    monkeypatch.setenv("YTMETRICS_DATABASE_URL", role_url)
    monkeypatch.setenv("YTMETRICS_PG_BIN", EMBEDDED_BIN)
    yield role_url
    admin.dispose()


@pytest.fixture
def commands(monkeypatch):
    """Every client command line and its environment, as run."""
    seen: list[tuple[list[str], dict]] = []
    real = subprocess.run

    def spy(args, *a, **kw):
        seen.append((list(args), dict(kw.get("env") or {})))
        return real(args, *a, **kw)

    monkeypatch.setattr(backup_module.subprocess, "run", spy)
    return seen


def test_backup_wipe_restore_gives_back_every_row(
    external_db, simulator, tmp_path, commands, capsys
):
    populate(external_db, simulator)
    engine = get_engine(external_db)
    before = fingerprint(engine)
    assert len(before) >= 10 and sum(rows for rows, _ in before.values()) > 100
    assert before["ytmetrics.alerts"][0] == 1

    path = tmp_path / "warehouse.dump"
    assert main(["db", "backup", str(path)]) == 0
    assert "backed up the warehouse" in capsys.readouterr().out
    assert path.read_bytes()[:5] == b"PGDMP"
    assert not (tmp_path / "warehouse.dump.partial").exists()

    wipe(engine)
    assert fingerprint(engine) == {}
    assert main(["db", "restore", str(path)]) == 0  # an empty warehouse needs no --force
    assert "restored" in capsys.readouterr().out
    assert fingerprint(engine) == before
    require_current(engine)

    # over a warehouse holding data: refused without --force, nothing changed
    raise_alert(engine, "quota", "quota:after-backup", "newer than the backup", {})
    changed = fingerprint(engine)
    assert main(["db", "restore", str(path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert fingerprint(engine) == changed
    assert main(["db", "restore", str(path), "--force"]) == 0
    assert fingerprint(engine) == before

    # the password went to the clients through the environment, never on a command line
    tools = [(args, env) for args, env in commands if args[-1] != "--version"]
    assert {Path(args[0]).name for args, _ in tools} == {"pg_dump", "pg_restore"}
    for args, _ in commands:
        assert not any(PASSWORD in a for a in args)
    assert all(env.get("PGPASSWORD") == PASSWORD for _, env in tools)


def test_bad_input_gets_a_clear_error_and_changes_nothing(
    external_db, simulator, tmp_path, pg_server, monkeypatch, capsys
):
    populate(external_db, simulator, n_videos=3, hours=1)
    engine = get_engine(external_db)
    before = fingerprint(engine)

    assert main(["db", "restore", str(tmp_path / "missing.dump")]) == 2
    assert "no backup file" in capsys.readouterr().err
    assert main(["db", "backup"]) == 2
    assert "PATH" in capsys.readouterr().err
    assert main(["db", "backup", str(tmp_path / "no" / "such" / "dir.dump")]) == 2
    assert "does not exist" in capsys.readouterr().err

    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a dump\n")
    assert main(["db", "restore", str(garbage), "--force"]) == 2
    assert "not a pg_dump custom-format archive" in capsys.readouterr().err

    # a real pg_dump archive, of some other database
    other_url = database_on_server(pg_server, "not_ytmetrics", "psycopg")
    with get_engine(other_url).begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS inventory (id int)"))
    other = tmp_path / "other.dump"
    conninfo = make_url(other_url).set(drivername="postgresql").render_as_string(False)
    subprocess.run([f"{EMBEDDED_BIN}/pg_dump", "-Fc", "-f", str(other), "-d", conninfo], check=True)
    assert main(["db", "restore", str(other), "--force"]) == 2
    assert "not of a ytmetrics warehouse" in capsys.readouterr().err
    assert fingerprint(engine) == before

    # client programs: missing, or older than the server
    monkeypatch.setenv("YTMETRICS_PG_BIN", str(tmp_path / "nowhere"))
    assert main(["db", "backup", str(tmp_path / "x.dump")]) == 1
    assert "pg_dump not found" in capsys.readouterr().err
    old = tmp_path / "oldbin"
    old.mkdir()
    (old / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.22'\n")
    (old / "pg_dump").chmod(0o755)
    monkeypatch.setenv("YTMETRICS_PG_BIN", str(old))
    assert main(["db", "backup", str(tmp_path / "x.dump")]) == 1
    err = capsys.readouterr().err
    assert "pg_dump 12 cannot dump a PostgreSQL 18 server" in err and "YTMETRICS_PG_BIN" in err
    assert not (tmp_path / "x.dump").exists()

    # an unreachable database: a clear error, without the password
    with tempfile.TemporaryDirectory() as nowhere:
        monkeypatch.setenv(
            "YTMETRICS_DATABASE_URL", f"postgresql://u:{PASSWORD}@/ytmetrics?host={nowhere}"
        )
        assert main(["db", "backup", str(tmp_path / "y.dump")]) == 1
        err = capsys.readouterr().err
        assert "cannot reach the warehouse" in err and PASSWORD not in err
        assert main(["db", "restore", str(garbage)]) == 1
        assert PASSWORD not in capsys.readouterr().err


@pytest.mark.system
def test_embedded_warehouse_backs_up_with_its_own_binaries(simulator, monkeypatch, capsys):
    home = Path(tempfile.mkdtemp(prefix="ytm-backup-"))
    monkeypatch.delenv("YTMETRICS_DATABASE_URL", raising=False)
    monkeypatch.delenv("YTMETRICS_PG_BIN", raising=False)
    monkeypatch.setenv("YTMETRICS_HOME", str(home))
    try:
        url = warehouse_url(create=True)  # starts the embedded server under home
        assert make_url(url).query["host"].startswith(str(home))  # its own server's socket
        populate(url, simulator, n_videos=5, hours=2)
        engine = get_engine(url)
        before = fingerprint(engine)
        path = home / "embedded.dump"
        assert main(["db", "backup", str(path)]) == 0
        wipe(engine)
        assert main(["db", "restore", str(path)]) == 0
        assert fingerprint(engine) == before
        out = capsys.readouterr().out
        assert "backed up" in out and "restored" in out
        assert os.path.getsize(path) > 1000
    finally:
        get_engine(warehouse_url()).dispose()
        stop_embedded_postgres(home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)
