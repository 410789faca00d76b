"""The HTTP API (/api/v1) beside the dashboard: the same results as the CLI, writes only with a
token that may write (nothing changes otherwise), tokens kept out of logs and errors, alerts a
person sees and acknowledges, and the OpenAPI document served as committed."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.defs.snapshots.collection import collection_requests_sensor
from ytmetrics_dagster.settings import ApiSettings
from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.api.app import create_api
from ytmetrics_dagster.surfaces.api.auth import OpenReadsRefused, check_bind
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.surfaces.dashboard import __main__ as dashboard_main
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.warehouse.alerts import record_alert
from ytmetrics_dagster.warehouse.api_tokens import create_token

from .conftest import TABLES
from .helpers import DAY, current_hour, hour_range, normal_ids, register

pytestmark = pytest.mark.db

OPENAPI_FILE = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
CHECKED_TABLES = TABLES


def checksums(engine) -> dict[str, str]:
    """Every table's content, hashed: equal before and after means nothing changed."""
    out = {}
    with engine.connect() as conn:
        for table in CHECKED_TABLES:
            rows = conn.execute(
                text(f"SELECT t::text FROM ytmetrics.{table} t ORDER BY 1")  # fixed names
            ).scalars()
            out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


@pytest.fixture
def client(engine):
    return TestClient(create_app(engine))


@pytest.fixture
def tokens(engine):
    writer = create_token(engine, "writer", read_only=False)
    reader = create_token(engine, "reader", read_only=True)
    return {"write": writer.secret, "read": reader.secret}


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def observed(engine, resources):
    """Two tracked videos observed over three hours."""
    ids = normal_ids(2)
    register(engine, resources, ids)
    # one run observes the three hours in turn (the rows of three runs, hour by hour)
    assert dg.materialize(
        [video_metric_snapshots],
        tags=hour_range(DAY, DAY + timedelta(hours=2)),
        resources=resources,
    ).success
    return ids


def without_now(payload: dict) -> dict:
    """A period ends "now" (to the second), and a milestone says when it was computed: those
    times are checked apart, within a minute."""
    milestone = payload.get("milestone")
    if milestone is not None:
        computed = datetime.fromisoformat(milestone["computed_at"])
        assert abs(datetime.now(UTC) - computed) < timedelta(minutes=1)
        payload = {**payload, "milestone": {**milestone, "computed_at": None}}
    period = payload.get("period")
    if period is None:
        return payload
    end = datetime.fromisoformat(period["end"])
    assert abs(datetime.now(UTC) - end) < timedelta(minutes=1)
    assert end - datetime.fromisoformat(period["start"]) == timedelta(days=period["days"])
    return {**payload, "period": {**period, "start": None, "end": None}}


def cli_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


# -- the document ---------------------------------------------------------------------------


def test_the_served_openapi_document_is_the_committed_one(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    committed = json.loads(OPENAPI_FILE.read_text())
    assert served.json() == committed, (
        "docs/openapi.json is stale: python -m ytmetrics_dagster.surfaces.api.openapi > docs/openapi.json"
    )
    paths = committed["paths"]
    assert {"/videos", "/videos/{video}", "/videos/{video}/metrics", "/top", "/requests"} <= set(
        paths
    )
    assert set(paths["/videos/{video}"]) == {"get", "delete"}
    assert committed["servers"] == [{"url": "/api/v1"}]
    # the CLI's bounds, stated once
    limit = next(p for p in paths["/videos"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 10_000)
    assert limit["schema"]["default"] == 100


# -- reads: the CLI's results ---------------------------------------------------------------


def test_reads_return_what_the_cli_returns(engine, client, observed, capsys):
    a, _ = observed
    pairs = [
        ("/api/v1/videos?limit=1&offset=1", ["videos", "--limit", "1", "--offset", "1"]),
        ("/api/v1/videos?status=all", ["videos", "--status", "all"]),
        (
            f"/api/v1/videos/{a}/metrics?days=3650&interval=hour",
            ["metrics", a, "--days", "3650", "--interval", "hour"],
        ),
        (
            f"/api/v1/videos/{a}?days=3650&interval=day",
            ["analyze", a, "--days", "3650", "--interval", "day"],
        ),
        ("/api/v1/top?hours=24&limit=5", ["top", "--hours", "24", "--limit", "5"]),
        ("/api/v1/requests?status=registered", ["requests", "--status", "registered"]),
        ("/api/v1/channels", ["channels"]),
    ]
    for path, argv in pairs:
        as_json = [] if argv[0] == "analyze" else ["--format", "json"]  # analyze: JSON only
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert without_now(answer.json()) == without_now(cli_json(capsys, [*argv, *as_json])), path
    metrics = client.get(f"/api/v1/videos/{a}/metrics?days=3650&interval=hour").json()
    assert metrics["period"]["interval"] == "hour" and len(metrics["series"]) == 3
    assert metrics["growth"]["views"]["absolute"] is not None
    # a query parameter naming a video takes any URL form, as the CLI's --video does
    by_url = client.get("/api/v1/requests", params={"video": f"https://youtu.be/{a}"}).json()
    assert by_url == cli_json(capsys, ["requests", "--video", f"youtu.be/{a}", "--format", "json"])
    assert by_url["total"] == 1


def test_invalid_input_is_400_in_the_cli_words_and_unknown_video_404(client, observed):
    answer = client.get("/api/v1/videos?limit=0")
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid input: limit must be an integer from 1 to 10000 (got '0')",
        "status": 400,
    }
    for path in (
        "/api/v1/videos?limit=abc",
        "/api/v1/videos?limit=10001",
        "/api/v1/videos?color=red",
        "/api/v1/videos?limit=1&limit=2",
        "/api/v1/videos?status=gone",
        "/api/v1/videos?channel=@handle",
        "/api/v1/top?hours=0",
        "/api/v1/videos/" + "x" * 5000,
    ):
        answer = client.get(path)
        assert answer.status_code in (400, 404), path
        assert len(answer.text) < 1200, path  # a rejected input is echoed clipped
    missing = client.get(f"/api/v1/videos/{'Z' * 11}/metrics")
    assert missing.status_code == 404 and "not tracked" in missing.json()["error"]
    assert client.get("/api/v1/nowhere").status_code == 404
    assert client.put("/api/v1/videos").status_code == 405


# -- writes: tokens -------------------------------------------------------------------------


def test_writes_without_a_usable_token_change_nothing(engine, client, observed, tokens):
    a, _ = observed
    record_alert(engine, "quota", "quota:x", "quota high", {})
    before = checksums(engine)
    writes = [
        ("post", "/api/v1/registrations", {"json": {"videos": [normal_ids(3)[2]]}}),
        ("delete", f"/api/v1/videos/{a}?delete_metrics=true", {}),
        ("post", f"/api/v1/videos/{a}/collect", {}),
        ("post", "/api/v1/channels", {"json": {"channel": "UC" + "A" * 22}}),
        ("delete", f"/api/v1/channels/UC{'A' * 22}", {}),
        ("post", "/api/v1/alerts/1/ack", {}),
    ]
    headers_401 = [
        {},
        bearer("ytm_not-a-token"),
        bearer(tokens["write"] + "x"),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ]
    for method, path, kwargs in writes:
        for headers in headers_401:
            answer = getattr(client, method)(path, headers=headers, **kwargs)
            assert answer.status_code == 401, (path, headers, answer.text)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
        answer = getattr(client, method)(path, headers=bearer(tokens["read"]), **kwargs)
        assert answer.status_code == 403, (path, answer.text)
        assert "read-only" in answer.json()["error"]
    # the read-only token's use is recorded; nothing else changed
    after = checksums(engine)
    assert {t for t in before if before[t] != after[t]} <= {"api_tokens"}


def test_writes_with_a_token(engine, client, observed, tokens, capsys):
    a, b = observed
    auth = bearer(tokens["write"])
    new = normal_ids(3)[2]
    answer = client.post(
        "/api/v1/registrations",
        json={"videos": [f"https://youtu.be/{new}", a, f"youtube.com/shorts/{new}"]},
        headers=auth,
    )
    assert answer.status_code == 200, answer.text
    outcomes = [(r["video_id"], r["outcome"]) for r in answer.json()["registrations"]]
    assert outcomes == [(new, "queued"), (a, "already_tracked"), (new, "duplicate")]
    listed = cli_json(capsys, ["requests", "--status", "pending", "--format", "json"])
    assert [(r["video_id"], r["requested_by"]) for r in listed["requests"]] == [(new, "api")]
    # one invalid input: none is queued
    before = checksums(engine)
    answer = client.post(
        "/api/v1/registrations", json={"videos": [normal_ids(4)[3], "vimeo.com/1"]}, headers=auth
    )
    assert answer.status_code == 400 and "nothing was queued" in answer.json()["error"]
    assert checksums(engine) == before

    answer = client.post(f"/api/v1/videos/{a}/collect", headers=auth)
    assert answer.status_code == 202, answer.text
    collect = answer.json()
    assert (collect["video_id"], collect["status"]) == (a, "pending")
    again = client.post(f"/api/v1/videos/{a}/collect", headers=auth).json()
    assert again["request_id"] == collect["request_id"]  # one pending request per video
    assert client.get(f"/api/v1/collections/{collect['request_id']}").json() == collect

    answer = client.delete(f"/api/v1/videos/{b}?delete_metrics=true", headers=auth)
    assert answer.status_code == 200, answer.text
    removal = answer.json()
    assert removal["already_removed"] is False and removal["deleted"]["snapshots"] == 3
    again = client.delete(f"/api/v1/videos/{b}", headers=auth).json()
    assert again["already_removed"] is True
    answer = client.post(f"/api/v1/videos/{b}/collect", headers=auth)
    assert answer.status_code == 400 and "removed" in answer.json()["error"]


def test_track_and_untrack_a_channel(engine, client, tokens, simulator, monkeypatch):
    monkeypatch.setenv("YTMETRICS_YOUTUBE_API_URL", simulator.base_url)
    auth = bearer(tokens["write"])
    channel = "UC" + "0" * 22
    answer = client.post("/api/v1/channels", json={"channel": "@nobody-at-all"}, headers=auth)
    assert answer.status_code == 400, answer.text
    from ytmetrics_dagster.youtube.simulator.world import channel_id as simulated_channel

    channel = simulated_channel(0)
    answer = client.post("/api/v1/channels", json={"channel": channel, "existing": 2}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["channel_id"] == channel and answer.json()["queued"] == 2
    listed = client.get("/api/v1/channels").json()
    assert [c["channel_id"] for c in listed["channels"]] == [channel]
    answer = client.delete(f"/api/v1/channels/{channel}", headers=auth)
    assert answer.status_code == 200 and answer.json()["status"] == "untracked"
    assert client.get("/api/v1/channels").json()["total"] == 0


# -- tokens ---------------------------------------------------------------------------------


def test_tokens_are_made_listed_and_revoked_by_the_cli_and_stored_hashed(engine, client, capsys):
    capsys.readouterr()
    assert main(["tokens", "create", "--name", "ci"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("ytm_") and len(secret) > 40
    assert main(["tokens", "create", "--name", "ci"]) == 2  # one active token per name
    assert main(["tokens", "create", "--name", "dash", "--read-only"]) == 0
    capsys.readouterr()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT t::text FROM ytmetrics.api_tokens t")).scalars().all()
    assert stored and not any(secret in row for row in stored)
    assert any(hashlib.sha256(secret.encode()).hexdigest() in row for row in stored)
    listed = cli_json(capsys, ["tokens", "list", "--format", "json"])
    assert [(t["name"], t["read_only"]) for t in listed["tokens"]] == [
        ("ci", False),
        ("dash", True),
    ]
    assert main(["tokens", "list"]) == 0
    assert secret not in capsys.readouterr().out

    video = normal_ids(1)[0]
    ok = client.post("/api/v1/registrations", json={"videos": [video]}, headers=bearer(secret))
    assert ok.status_code == 200
    assert main(["tokens", "revoke", "ci"]) == 0
    refused = client.post("/api/v1/registrations", json={"videos": [video]}, headers=bearer(secret))
    assert refused.status_code == 401
    assert main(["tokens", "revoke", "ci"]) == 2  # nothing active by that name


def test_tokens_never_appear_in_logs_or_errors(engine, client, tokens, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    secrets = [tokens["write"], tokens["read"], "ytm_" + "s" * 43]
    bodies = []
    for secret in secrets:
        for headers in (bearer(secret), bearer(secret + "tail"), {"Authorization": secret}):
            for method, path in (
                ("post", "/api/v1/alerts/99/ack"),
                ("post", "/api/v1/registrations"),
                ("get", "/api/v1/videos?limit=0"),
            ):
                body = {"json": {"videos": ["x"]}} if method == "post" else {}
                answer = getattr(client, method)(path, headers=headers, **body)
                bodies.append(answer.text + json.dumps(dict(answer.headers)))
    captured = capsys.readouterr()
    seen = "\n".join([*bodies, caplog.text, captured.out, captured.err])
    for secret in secrets:
        assert secret not in seen
        assert secret[4:20] not in seen


def test_reads_can_require_a_token(engine, tokens):
    client = TestClient(
        create_api(engine, ApiSettings(read_tokens_required=True, allow_open_reads=False))
    )
    assert client.get("/videos").status_code == 401
    assert client.get("/videos", headers=bearer("ytm_wrong")).status_code == 401
    assert client.get("/videos", headers=bearer(tokens["read"])).status_code == 200
    assert client.get("/openapi.json").status_code == 200  # the document is public


def test_open_reads_beyond_loopback_are_refused_unless_allowed(engine, monkeypatch, capsys):
    open_reads = ApiSettings(read_tokens_required=False, allow_open_reads=False)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, open_reads)
    for host in ("0.0.0.0", "192.0.2.10", "::", "example.org"):
        with pytest.raises(OpenReadsRefused):
            check_bind(host, open_reads)
        check_bind(host, ApiSettings(read_tokens_required=True, allow_open_reads=False))
        check_bind(host, ApiSettings(read_tokens_required=False, allow_open_reads=True))
    # the server itself refuses to start (before binding anything)
    monkeypatch.delenv("YTMETRICS_API_READ_TOKENS", raising=False)
    monkeypatch.delenv("YTMETRICS_API_ALLOW_OPEN_READS", raising=False)
    assert dashboard_main.main(["--host", "0.0.0.0", "--port", "1"]) == 2
    assert "YTMETRICS_API_READ_TOKENS=required" in capsys.readouterr().err
    monkeypatch.setenv("YTMETRICS_API_READ_TOKENS", "sometimes")
    assert dashboard_main.main(["--host", "127.0.0.1", "--port", "1"]) == 2


# -- alerts ---------------------------------------------------------------------------------


def test_alerts_are_listed_acknowledged_and_shown_on_the_dashboard(engine, client, tokens, capsys):
    assert "alert-line" not in client.get("/").text
    first = record_alert(engine, "run_failure", "run_failure:1", "run 1 of x failed: boom", {})
    second = record_alert(engine, "quota", "quota:1", "quota above 80 %", {})
    page = client.get("/").text
    assert 'id="alert-line"' in page and f"ALERT {second}" in page and "and 1 more" in page
    listed = cli_json(capsys, ["alerts", "--format", "json"])
    assert [a["alert_id"] for a in listed["alerts"]] == [second, first]
    assert client.get("/api/v1/alerts").json() == listed

    assert main(["alerts", "ack", str(first)]) == 0
    answer = client.post(f"/api/v1/alerts/{second}/ack", headers=bearer(tokens["write"]))
    assert answer.status_code == 200
    assert answer.json()["acknowledged_by"] == "api:writer"
    assert answer.json()["acknowledged_at"] is not None
    assert "alert-line" not in client.get("/").text
    assert cli_json(capsys, ["alerts", "--format", "json"])["total"] == 0
    every = cli_json(capsys, ["alerts", "--all", "--format", "json"])
    assert {a["acknowledged_by"] for a in every["alerts"]} == {"cli", "api:writer"}
    assert main(["alerts", "ack", "999"]) == 2
    missing = client.post("/api/v1/alerts/999/ack", headers=bearer(tokens["write"]))
    assert missing.status_code == 404
    assert main(["alerts", "ack", "x"]) == 2


# -- collect now ----------------------------------------------------------------------------


def units_of_run(engine, run_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT coalesce(sum(units), 0) FROM ytmetrics.api_calls WHERE run_id = :r"),
            {"r": run_id},
        ).scalar_one()


def collect_tick(resources, cursor=None):
    context = dg.build_sensor_context(
        resources={"warehouse": resources["warehouse"]}, cursor=cursor
    )
    return collection_requests_sensor(context), context.cursor


def test_collect_now_observes_one_video_into_the_current_hour_for_one_unit(
    engine, resources, client, observed, tokens
):
    a, b = observed
    hour = current_hour()
    auth = bearer(tokens["write"])
    assert isinstance(collect_tick(resources)[0], dg.SkipReason)
    queued = client.post(f"/api/v1/videos/{a}/collect", headers=auth).json()
    request, cursor = collect_tick(resources)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == hour.strftime("%Y-%m-%d-%H:%M")
    assert request.tags["dagster/priority"] == "10"
    # a second tick launches nothing twice
    assert isinstance(collect_tick(resources, cursor)[0], dg.SkipReason)

    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=request.partition_key,
        resources=resources,
        run_config=request.run_config,
    )
    assert result.success
    assert units_of_run(engine, result.run_id) == 1  # one videos.list call, in the ledger
    done = client.get(f"/api/v1/collections/{queued['request_id']}").json()
    assert done["status"] == "collected" and done["snapshot_hour"] == models.timestamp(hour)
    with engine.connect() as conn:
        in_hour = (
            conn.execute(
                text("SELECT video_id FROM ytmetrics.snapshots WHERE snapshot_hour = :h"),
                {"h": hour},
            )
            .scalars()
            .all()
        )
    assert in_hour == [a]  # only that video: the hour's other observations are the schedule's

    # observed already this hour: collected again without a call
    again = client.post(f"/api/v1/videos/{a}/collect", headers=auth).json()
    request, _ = collect_tick(resources, cursor)
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=request.partition_key,
        resources=resources,
        run_config=request.run_config,
    )
    assert result.success and units_of_run(engine, result.run_id) == 0
    assert client.get(f"/api/v1/collections/{again['request_id']}").json()["status"] == "collected"
    listed = client.get("/api/v1/collections?status=collected").json()
    assert listed["total"] == 2


@pytest.mark.unit
def test_an_unreachable_warehouse_is_503_without_its_address():
    from ytmetrics_dagster.warehouse.engine import get_engine

    dead = get_engine("postgresql+psycopg://someone:hunter2secret@127.0.0.1:9/nowhere")
    client = TestClient(
        create_api(dead, ApiSettings(read_tokens_required=False, allow_open_reads=False))
    )
    for path in ("/videos", "/alerts", "/top"):
        answer = client.get(path)
        assert answer.status_code == 503, answer.text
        assert answer.json()["status"] == 503
        assert "hunter2secret" not in answer.text
    # a write without a token is refused before the warehouse is asked
    assert client.post("/registrations", json={"videos": ["x"]}).status_code == 401


def test_a_scheduled_run_replacing_the_hour_keeps_a_collected_video(
    engine, resources, client, observed, tokens
):
    a, b = observed
    hour = current_hour()
    previous = (hour - timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")
    assert dg.materialize([video_metric_snapshots], partition_key=previous, resources=resources)
    client.post(f"/api/v1/videos/{a}/collect", headers=bearer(tokens["write"]))
    request, _ = collect_tick(resources)
    assert dg.materialize(
        [video_metric_snapshots],
        partition_key=request.partition_key,
        resources=resources,
        run_config=request.run_config,
    ).success
    # daily cadence, observed an hour ago: neither video is due this hour
    daily = {"cadence": "*:24h", "daily_hour_utc": (hour.hour + 12) % 24}
    scheduled = dg.materialize(
        [video_metric_snapshots],
        partition_key=request.partition_key,
        resources=resources,
        run_config=dg.RunConfig(ops={"video_metric_snapshots": {"config": daily}}),
    )
    assert scheduled.success
    with engine.connect() as conn:
        in_hour = (
            conn.execute(
                text("SELECT video_id FROM ytmetrics.snapshots WHERE snapshot_hour = :h"),
                {"h": hour},
            )
            .scalars()
            .all()
        )
    assert in_hour == [a]  # what was asked for is observed again, not deleted
