"""`dg check defs`, Dagster's own validation of the project, passes on the project and fails on
a copy of it with a broken definition (so a pass means something)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

PROJECT = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).parent / "dg"


def dg_check_defs(project: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        # the project's virtualenv is the active one (dg warns otherwise)
        VIRTUAL_ENV=sys.prefix,
        # what the definitions need to load, and no warehouse: loading must not reach one
        YTMETRICS_PARTITIONS_START="2026-01-01",
        YTMETRICS_DATABASE_URL="postgresql+psycopg://nobody:none@127.0.0.1:9/none",
        YTMETRICS_HOME=str(home),
        NO_COLOR="1",
    )
    return subprocess.run(
        [str(DG), "check", "defs"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dg_check_defs_passes_on_the_project(tmp_path):
    result = dg_check_defs(PROJECT, tmp_path / "home")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "All definitions loaded successfully" in output


def test_dg_check_defs_fails_on_a_broken_definition(tmp_path):
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(PROJECT / "pyproject.toml", copy)
    shutil.copytree(
        PROJECT / "ytmetrics_dagster",
        copy / "ytmetrics_dagster",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # an asset that needs a resource no definition provides
    with (copy / "ytmetrics_dagster" / "defs" / "snapshots" / "assets.py").open("a") as f:
        f.write(
            "\n\n@dg.asset(required_resource_keys={'no_such_resource'})\n"
            "def broken_asset_for_the_test():\n"
            "    return None\n"
        )
    result = dg_check_defs(copy, tmp_path / "home")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "no_such_resource" in output, output
    # the copy was loaded, not the installed project
    assert "broken_asset_for_the_test" in output, output
