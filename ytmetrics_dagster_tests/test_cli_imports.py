"""What the `ytmetrics` command loads (issue #21: `--help` under 0.3 s, a read under 0.5 s).

Structural, not timed: each command runs in a fresh interpreter, as from a terminal, and
reports which heavy packages were imported by the time it returned. The figures themselves
are in BENCHMARKS.md (benchmarks/cli_benchmark.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import (
    SchemaOutOfDateError,
    _head_from_files,
    _stored_revision,
    current_revision,
    head_revision,
    require_current,
)

from .helpers import normal_ids, track_directly

pytestmark = pytest.mark.system

HEAVY = ("dagster", "pandas", "sqlalchemy", "psycopg", "alembic", "requests")

# Runs the CLI's entry point, then reports the heavy packages in sys.modules (as JSON, on the
# last line of stdout; the command's own output is kept apart).
PROBE = """
import contextlib, io, json, sys
from ytmetrics_dagster.surfaces.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{"code": code, "loaded": loaded, "output": out.getvalue()}}))
"""


def probe(argv: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv", [["--help"], ["videos", "--help"], ["metrics", "--help"], ["db", "--help"]]
)
def test_help_loads_no_heavy_package(argv):
    result = probe(argv)
    assert result["code"] == 0
    assert "usage: ytmetrics" in result["output"]
    assert result["loaded"] == []


def test_invalid_input_is_refused_before_anything_heavy_is_loaded():
    result = probe(["videos", "--limit", "0"])
    assert result["code"] == 2
    assert result["loaded"] == []


@pytest.fixture
def tracked(engine) -> str:
    video_id = normal_ids(1)[0]
    track_directly(engine, [video_id])
    return video_id


READS = [
    ["videos"],
    ["videos", "--format", "json"],
    ["metrics", "{video}"],
    ["analyze", "{video}"],
    ["top"],
    ["quota"],
    ["requests"],
    ["channels"],
    ["alerts"],
    ["tokens", "list"],
]


@pytest.mark.parametrize("argv", READS, ids=lambda argv: " ".join(argv))
def test_a_read_command_never_loads_dagster_nor_alembic(tracked, argv):
    result = probe([a.format(video=tracked) for a in argv])
    assert result["code"] == 0
    # the probe sees what the command imported: it did read the warehouse
    assert "sqlalchemy" in result["loaded"]
    assert "dagster" not in result["loaded"]
    # the schema check reads the version table without Alembic
    assert "alembic" not in result["loaded"]
    if argv[0] == "videos":
        assert tracked in result["output"]


PANDAS_FREE = [
    ["videos"],
    ["videos", "--format", "csv"],
    ["metrics", "{video}"],
    ["metrics", "{video}", "--format", "json"],
    ["requests"],
    ["requests", "--format", "csv"],
    ["channels"],
    ["alerts", "--format", "csv"],
    ["top"],
    ["tokens", "list"],
]


@pytest.mark.parametrize("argv", PANDAS_FREE, ids=lambda argv: " ".join(argv))
def test_the_listings_go_without_pandas(tracked, argv):
    result = probe([a.format(video=tracked) for a in argv])
    assert result["code"] == 0
    assert "sqlalchemy" in result["loaded"]  # it did read the warehouse
    assert "pandas" not in result["loaded"]
    if argv[0] in ("videos", "metrics"):  # tracked directly: no request, channel nor alert
        assert tracked in result["output"]


def test_quota_goes_without_pandas_and_the_http_client(tracked):
    result = probe(["quota"])
    assert result["code"] == 0 and "quota day" in result["output"]
    assert result["loaded"] == ["psycopg", "sqlalchemy"]


def test_status_loads_no_heavy_package(tmp_path, monkeypatch):
    monkeypatch.setenv("YTMETRICS_HOME", str(tmp_path))
    result = probe(["status"])
    assert result["code"] == 1  # nothing supervised in an empty home
    assert result["loaded"] == []


# -- the schema check without Alembic answers as Alembic does ------------------------------------


def test_the_head_read_from_the_files_is_alembics():
    assert _head_from_files() == head_revision()


@pytest.fixture
def bare_database(pg_server):
    url = database_on_server(pg_server, "ytmetrics_revision_check", "psycopg")
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS ytmetrics CASCADE"))
    return engine


def test_require_current_passes_on_the_migrated_warehouse(engine):
    assert _stored_revision(engine) == current_revision(engine) == head_revision()
    require_current(engine)


def test_require_current_refuses_an_empty_database(bare_database):
    assert _stored_revision(bare_database) is None is current_revision(bare_database)
    with pytest.raises(SchemaOutOfDateError, match="at revision none, code expects"):
        require_current(bare_database)


def test_require_current_refuses_an_older_revision(bare_database):
    with bare_database.begin() as conn:
        conn.execute(text("CREATE SCHEMA ytmetrics"))
        conn.execute(
            text("CREATE TABLE ytmetrics.alembic_version (version_num varchar(32) PRIMARY KEY)")
        )
        conn.execute(text("INSERT INTO ytmetrics.alembic_version VALUES ('0015')"))
    assert _stored_revision(bare_database) == current_revision(bare_database) == "0015"
    with pytest.raises(
        SchemaOutOfDateError,
        match=f"at revision 0015, code expects {head_revision()}: run `ytmetrics db upgrade`",
    ):
        require_current(bare_database)
