"""The last hand-built JSON are result models too (issue #21): ``ytmetrics quota --json``
(``QUOTA``), ``ytmetrics status --format json`` (``STATUS``) and the error body of the HTTP API
and of the dashboard (``ERROR``). On real data (the warehouse's quota ledger, a running
supervisord, the served apps) each is the same bytes as the hand-built JSON it replaced, and the
data a surface is built from has exactly its model's keys: a key the model does not declare
fails here instead of being dropped on the way out. Every model is in the docs' reference."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.responses import JSONResponse
from starlette.testclient import TestClient

from ytmetrics_dagster.runtime.status import NotRunningError, program_states
from ytmetrics_dagster.services.quota_status import quota_status
from ytmetrics_dagster.settings import configured_cadence, load_settings
from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.cli import main, quota_json, status_json
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.warehouse.pacing import select_due
from ytmetrics_dagster.warehouse.quota import Budget, reserve
from ytmetrics_dagster.youtube.api_limits import BATCH_STATS_BUCKET

from .helpers import normal_ids, spend_units, track_directly
from .shape_check import check_shape
from .test_cli_imports import probe

DOCS = Path(__file__).resolve().parents[1] / "docs" / "surfaces.md"


# -- every model is documented ---------------------------------------------------------------


@pytest.mark.unit
def test_every_result_model_is_in_the_docs_reference():
    defined = {
        model
        for _, model in inspect.getmembers(models, inspect.isclass)
        if issubclass(model, models.Result)
        and model is not models.Result
        and model.__module__ == models.__name__
    }
    assert defined - set(models.DOCUMENTED) == set()
    assert len(models.DOCUMENTED) == len(set(models.DOCUMENTED))
    docs = DOCS.read_text()
    assert models.reference() in docs
    for model in models.DOCUMENTED:
        assert f"\n{models.doc_name(model)} = {{" in docs, model.__name__


@pytest.mark.unit
def test_named_entries_are_documented_with_their_kind():
    assert '"units_by_method": {string: integer, …}' in models.describe(models.QuotaLedger)
    assert '"pacing": {string: QUOTA_PACING, …}' in models.describe(models.Quota)
    assert models.describe(models.Error) == 'ERROR = {"error": string, "status": integer}'


@pytest.mark.unit
def test_a_key_the_model_does_not_declare_is_caught():
    """What the tests below rely on: the raw data with one more key fails the shape check (the
    model alone would drop the key silently)."""
    raw = {"error": "no such video", "status": 404}
    check_shape(raw, models.Error)
    with pytest.raises(AssertionError, match="keys"):
        check_shape({**raw, "detail": "x"}, models.Error)
    with pytest.raises(AssertionError, match="keys"):
        check_shape({"home": "/h", "programs": [{"name": "x", "extra": 1}]}, models.Status)
    assert models.Error.model_validate({**raw, "detail": "x"}).json_dict() == raw


@pytest.mark.unit
def test_an_error_body_is_never_null():
    with pytest.raises(ValueError):
        models.Error.model_validate({"error": None, "status": 400})
    with pytest.raises(ValueError):
        models.Error.model_validate({"error": "bad"})


# -- quota --json ------------------------------------------------------------------------------


@pytest.fixture
def ledger(engine):
    """A quota day with units spent on both buckets, units held by a run and deferred videos."""
    now = datetime.now(UTC)
    ids = normal_ids(60)
    track_directly(engine, ids)
    spend_units(engine, 7, now)
    spend_units(engine, 3, now, bucket=BATCH_STATS_BUCKET)
    reserve(engine, Budget(), 2, now, purpose="test", run_id="run-1")
    cadence = configured_cadence()
    hour = now.replace(minute=0, second=0, microsecond=0)
    kept, deferred = select_due(
        engine,
        hour,
        now,
        cadence.tiers_json(),
        cadence.anchor_hour,
        limit=50,
        reason="test",
        run_id="run-1",
        now=now,
    )
    assert len(kept) == 50 and deferred == 10
    return engine


def _quota(engine, batch: bool) -> dict:
    return quota_status(engine, Budget(), use_batch_get_stats=batch)


@pytest.mark.db
@pytest.mark.parametrize("batch", [False, True], ids=["default", "batch_get_stats"])
def test_quota_json_is_the_hand_built_json_byte_for_byte(ledger, batch):
    status = _quota(ledger, batch)
    # the data exercises every part: both buckets, methods, deferrals, held units
    filled = check_shape(status, models.Quota)
    assert "$.deferred_today.by_tier.{}" in filled and "$.ledger.units_by_method.{}" in filled
    assert status["ledger"]["buckets"]["default"]["held"] == 2
    assert status["deferred_today"]["total"] == 10
    assert status["ledger"]["units_by_method"][f"{BATCH_STATS_BUCKET}:videos"] == 3
    assert list(status["ledger"]["buckets"]) == (
        ["default", BATCH_STATS_BUCKET] if batch else ["default"]
    )
    # what `quota --json` printed before the model, byte for byte
    assert quota_json(status) == json.dumps(status, indent=2)


@pytest.mark.db
def test_the_quota_command_prints_the_quota_model(ledger, capsys):
    batch = load_settings().use_batch_get_stats
    before = json.dumps(_quota(ledger, batch), indent=2)
    capsys.readouterr()
    assert main(["quota", "--json"]) == 0
    printed = capsys.readouterr().out
    after = json.dumps(_quota(ledger, batch), indent=2)
    # the same bytes as the hand-built JSON of the same moment (an hour may turn meanwhile)
    assert printed.rstrip("\n") in (before, after)
    check_shape(json.loads(printed), models.Quota)


@pytest.mark.system
def test_quota_json_loads_what_the_quota_text_loads(ledger):
    """The model costs no heavy import: no pandas, no HTTP client, no dagster (issue #21)."""
    result = probe(["quota", "--json"])
    assert result["code"] == 0
    check_shape(json.loads(result["output"]), models.Quota)
    assert result["loaded"] == ["psycopg", "sqlalchemy"]


# -- status --format json ----------------------------------------------------------------------

SUPERVISORD_CONF = """
[unix_http_server]
file={home}/supervisor.sock

[supervisord]
logfile={home}/logs/supervisord.log
pidfile={home}/supervisord.pid
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:sleeper]
command=sleep 600

[program:stopped]
command=sleep 600
autostart=false

[program:worker]
command=sleep 600

[group:pipeline]
programs=worker
"""


@pytest.fixture
def supervised(tmp_path):
    """A real supervisord in its own home: a running program, a stopped one, one in a group."""
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    conf = home / "supervisord.conf"
    conf.write_text(SUPERVISORD_CONF.format(home=home))
    supervisord = Path(sys.executable).parent / "supervisord"
    process = subprocess.Popen(
        [str(supervisord), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                states = {s.name: s.state for s in program_states(home)}
            except NotRunningError:
                states = {}
            if states.get("sleeper") == "RUNNING" and states.get("pipeline:worker") == "RUNNING":
                break
            assert time.monotonic() < deadline, f"supervisord did not start: {states}"
            time.sleep(0.2)
        yield home
    finally:
        process.terminate()
        process.wait(timeout=30)


def _hand_built(home: Path, states) -> str:
    """`status --format json` as it was written before the model."""
    return json.dumps({"home": str(home), "programs": [asdict(s) for s in states]})


@pytest.mark.system
def test_status_json_is_the_hand_built_json_byte_for_byte(supervised):
    states = program_states(supervised)
    assert {s.name for s in states} == {"sleeper", "stopped", "pipeline:worker"}
    raw = json.loads(_hand_built(supervised, states))
    filled = check_shape(raw, models.Status)
    assert "$.programs[].pid" in filled and "$.programs[].uptime_seconds" in filled
    stopped = next(p for p in raw["programs"] if p["name"] == "stopped")
    assert stopped["pid"] is None and stopped["uptime_seconds"] is None
    assert status_json(supervised, states) == _hand_built(supervised, states)


@pytest.mark.system
def test_the_status_command_prints_the_status_model(supervised, capsys, monkeypatch):
    monkeypatch.setenv("YTMETRICS_HOME", str(supervised))
    capsys.readouterr()
    # a program is STOPPED: exit 1, as the text form (docs/operations-supervision.md)
    assert main(["status", "--format", "json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    check_shape(printed, models.Status)
    expected = json.loads(_hand_built(supervised, program_states(supervised)))

    def without_uptime(status: dict) -> dict:  # a second may pass between the two reads
        return {**status, "programs": [{**p, "uptime_seconds": 0} for p in status["programs"]]}

    assert without_uptime(printed) == without_uptime(expected)
    assert main(["status"]) == 1  # the text form says the same


@pytest.mark.system
def test_status_json_loads_no_heavy_package(supervised, monkeypatch):
    monkeypatch.setenv("YTMETRICS_HOME", str(supervised))
    result = probe(["status", "--format", "json"])
    assert result["code"] == 1  # a program is STOPPED
    check_shape(json.loads(result["output"]), models.Status)
    assert result["loaded"] == []


# -- the error body --------------------------------------------------------------------------


def _hand_built_error(answer) -> bytes:
    """The body as `_error` built it before the model: a plain dict in a JSONResponse."""
    message = answer.json()["error"]
    return JSONResponse({"error": message, "status": answer.status_code}).body


API_ERRORS = [
    ("get", "/api/v1/videos?bogus=1", 400),
    ("get", "/api/v1/videos?limit=0", 400),
    ("get", "/api/v1/videos/AAAAAAAAAAA", 404),
    ("get", "/api/v1/alerts?all=maybe", 400),
    ("get", "/api/v1/no/such/operation", 404),
    ("put", "/api/v1/videos", 405),
    ("post", "/api/v1/registrations", 401),
]
DASHBOARD_ERRORS = [
    ("get", "/api/videos?bogus=1", 400),
    ("get", "/api/videos/not%20a%20video", 400),
    ("get", "/api/channels/nope", 400),
    ("get", "/api/compare?age_days=0", 400),
    ("get", "/api/videos/AAAAAAAAAAA", 404),
    ("get", "/api/no/such/page", 404),
    ("post", "/api/videos", 405),
]


@pytest.mark.db
@pytest.mark.parametrize(("method", "path", "status"), API_ERRORS + DASHBOARD_ERRORS)
def test_every_error_body_is_the_error_model_and_the_hand_built_bytes(engine, method, path, status):
    answer = getattr(TestClient(create_app(engine)), method)(path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    check_shape(answer.json(), models.Error)
    assert answer.json()["status"] == status
    assert answer.content == _hand_built_error(answer)


@pytest.mark.db
def test_the_openapi_error_responses_are_the_error_model(engine):
    document = TestClient(create_app(engine)).get("/api/v1/openapi.json").json()
    schema = document["components"]["schemas"]["Error"]
    expected = models.Error.model_json_schema()
    assert schema == expected
    assert schema["additionalProperties"] is False
    errors = 0
    for path in document["paths"].values():
        for operation in path.values():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (code, ref)
                    errors += 1
    assert errors > 0


@pytest.mark.unit
def test_the_error_model_is_the_one_definition():
    from ytmetrics_dagster.surfaces.api import app as api_app
    from ytmetrics_dagster.surfaces.dashboard import app as dashboard_app

    assert api_app.results.Error is models.Error is dashboard_app.results.Error
    body = api_app._error(503, "the warehouse is unavailable").body
    assert body == b'{"error":"the warehouse is unavailable","status":503}'


@pytest.mark.unit
def test_timestamps_of_quota_keep_their_offset():
    """QUOTA's ``…_utc`` values are strings as quota_status writes them (``+00:00``)."""
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    raw = {"day_start_utc": now.isoformat(), "resets_at_utc": (now + timedelta(days=1)).isoformat()}
    typed = models.Quota.model_validate(raw).json_dict()
    assert typed["day_start_utc"] == "2026-11-20T09:30:00+00:00"
    assert typed["resets_at_utc"] == "2026-11-21T09:30:00+00:00"
