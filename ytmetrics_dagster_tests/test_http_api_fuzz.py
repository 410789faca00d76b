"""Schemathesis drives the running HTTP API (uvicorn on 127.0.0.1, the dashboard's app) from
its OpenAPI document: no 5xx, every response as documented (status, content type, headers,
schema), invalid input rejected. Without a token nothing in the warehouse changes; with a
read-only token only the token's last use; with a write token the writes run, as documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
import uvicorn

from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.warehouse.alerts import record_alert
from ytmetrics_dagster.warehouse.api_tokens import create_token

from .helpers import DAY, free_port, normal_ids, register
from .test_http_api import checksums

pytestmark = pytest.mark.system

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# examples per operation: bounded so the whole run stays well under two minutes
MAX_EXAMPLES = int(os.environ.get("YTMETRICS_FUZZ_EXAMPLES", "100"))
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    )
)


@pytest.fixture
def served(engine):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_fuzzed_without_a_token_the_api_answers_as_documented_and_changes_nothing(
    engine, resources, served, tmp_path
):
    ids = normal_ids(3)
    register(engine, resources, ids)
    for h in (0, 1):
        key = (DAY + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M")
        assert dg.materialize(
            [video_metric_snapshots], partition_key=key, resources=resources
        ).success
    record_alert(engine, "quota", "quota:fuzz", "quota high", {})
    create_token(engine, "fuzz-bystander", read_only=False)
    before = checksums(engine)
    figures = fuzz(served, tmp_path, MAX_EXAMPLES, "no token")
    assert figures["operations"] == 15 and figures["failures"] == 0, figures
    assert checksums(engine) == before, "unauthenticated fuzzing changed the warehouse"

    # a read-only token: reads pass, every write is refused (403); only the token's own
    # last use is recorded
    reader = create_token(engine, "fuzz-reader", read_only=True)
    before = checksums(engine)
    figures = fuzz(
        served,
        tmp_path,
        MAX_EXAMPLES // 5,
        "read-only token",
        "-H",
        f"Authorization: Bearer {reader.secret}",
    )
    assert figures["failures"] == 0, figures
    after = checksums(engine)
    assert {t for t in before if before[t] != after[t]} <= {"api_tokens"}

    # a token that writes: the writes run (and change what they are asked to), and still no
    # 5xx and every answer as documented
    writer = create_token(engine, "fuzz-writer", read_only=False)
    figures = fuzz(
        served,
        tmp_path,
        MAX_EXAMPLES // 5,
        "write token",
        "-H",
        f"Authorization: Bearer {writer.secret}",
    )
    assert figures["failures"] == 0, figures


def fuzz(base: str, workdir: Path, examples: int, label: str, *extra: str) -> dict:
    """One schemathesis run (its cache stays in ``workdir``, out of the repository)."""
    started = time.monotonic()
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{base}/api/v1/openapi.json",
            "--url",
            f"{base}/api/v1",
            "--checks",
            CHECKS,
            "--max-examples",
            str(examples),
            "--mode",
            "all",
            "--seed",
            "2026",
            "--generation-database",
            "none",
            "--no-color",
            "--request-timeout",
            "20",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=workdir,
    )
    seconds = time.monotonic() - started
    # a failure report may echo the header: the token stays out of the test's output
    out = re.sub(r"Bearer \S+", "Bearer <token>", run.stdout)
    err = re.sub(r"Bearer \S+", "Bearer <token>", run.stderr)
    tested = re.search(r"Tested: (\d+)", out)
    cases = re.search(r"(\d+) generated, (\d+) passed(?:, (\d+) failed)?", out)
    figures = {
        "operations": int(tested.group(1)) if tested else None,
        "cases": int(cases.group(1)) if cases else None,
        "failures": (int(cases.group(3) or 0) if cases else None)
        if run.returncode == 0
        else out[-6000:] + err[-2000:],
        "seconds": round(seconds, 1),
    }
    print(f"schemathesis ({label}): {figures}")
    return figures
