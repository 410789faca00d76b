"""One definition of each result on every surface: the CLI, the MCP server (a real stdio server
process), the HTTP API and the dashboard answer the same JSON for the same video, and the MCP
tools' output schemas and the OpenAPI document's schemas are the result models' JSON schemas."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import anyio
import dagster as dg
import pytest
from mcp.server.mcpserver.exceptions import UnexpectedToolError
from pydantic import ValidationError
from starlette.testclient import TestClient

from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.surfaces import mcp_server
from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.api.app import ROUTES
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.surfaces.dashboard import views
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.surfaces.inputs import AGE_DAYS, DAYS, PAGE, PER_PAGE
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import DAY, hour_range, normal_ids
from .shape_check import check_shape
from .test_mcp import mcp_session

pytestmark = pytest.mark.system

TOOL_MODELS = {
    "register_video_for_tracking": models.Registration,
    "list_registration_requests": models.RequestList,
    "analyze_video_performance": models.Analysis,
    "list_tracked_videos": models.VideoList,
    "top_growing_videos": models.Top,
}


def _cli_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _without_now(payload: dict) -> dict:
    """A period ends "now", a milestone is computed "now" (to the second): those are checked
    apart, within a minute."""
    period = payload.get("period")
    if period is not None:
        end = datetime.fromisoformat(period["end"])
        assert abs(datetime.now(UTC) - end) < timedelta(minutes=1)
        payload = {**payload, "period": {**period, "start": None, "end": None}}
    milestone = payload.get("milestone")
    if milestone is not None:
        computed = datetime.fromisoformat(milestone["computed_at"])
        assert abs(datetime.now(UTC) - computed) < timedelta(minutes=1)
        payload["milestone"] = {**milestone, "computed_at": None}
    return payload


def _mcp(database_url: str, calls: list[tuple[str, dict]]):
    async def run():
        async with mcp_session(database_url) as session:
            tools = (await session.list_tools()).tools
            return tools, [await session.call_tool(name, args) for name, args in calls]

    return anyio.run(run)


# -- the schemas ----------------------------------------------------------------------------


def test_each_mcp_tool_output_schema_is_its_model_s_json_schema():
    tools = {tool.name: tool for tool in mcp_server.server._tool_manager.list_tools()}
    assert set(tools) == set(TOOL_MODELS)
    for name, model in TOOL_MODELS.items():
        assert tools[name].output_schema == model.model_json_schema(), name


def test_each_http_route_s_response_schema_is_its_model_s_json_schema(engine):
    document = TestClient(create_app(engine)).get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for method, path, _, model, _, _ in ROUTES:
        success = "202" if path.endswith("/collect") else "200"
        content = document["paths"][path][method.lower()]["responses"][success]["content"]
        ref = content["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{model.__name__}", (method, path)
        expected = model.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="serialization"
        )
        for name, part in expected.pop("$defs", {}).items():
            assert schemas[name] == part, (path, name)
        assert schemas[model.__name__] == expected, (method, path)


def test_a_result_that_does_not_fit_its_model_is_a_bug_not_invalid_arguments(monkeypatch):
    monkeypatch.setattr(mcp_server, "_engine", lambda: None)
    monkeypatch.setattr(mcp_server.video_listing, "video_rows", lambda *a, **k: ([], "many"))
    # a bug stays a bug (the SDK reports it as an internal error), never "invalid arguments"
    with pytest.raises(UnexpectedToolError) as info:
        anyio.run(mcp_server.server.call_tool, "list_tracked_videos", {})
    assert isinstance(info.value.__cause__, ValidationError)
    assert info.value.__cause__.title == "VideoList"


# -- the same video on the four surfaces ----------------------------------------------------


@pytest.fixture
def observed(engine, resources):
    """A tracked video observed over three hours."""
    (vid,) = normal_ids(1)
    queue_registrations(engine, [(vid, vid)])
    assert dg.materialize([tracked_videos], resources=resources).success
    # one run observes the three hours in turn (the rows of three runs, hour by hour)
    assert dg.materialize(
        [video_metric_snapshots],
        tags=hour_range(DAY, DAY + timedelta(hours=2)),
        resources=resources,
    ).success
    return vid


def test_one_video_and_its_metrics_are_the_same_json_on_every_surface(
    engine, database_url, observed, capsys
):
    vid = observed
    days = ["--days", "3650", "--interval", "hour"]
    # the CLI
    cli_metrics = _cli_json(capsys, ["metrics", vid, *days, "--format", "json"])
    cli_analysis = _cli_json(capsys, ["analyze", vid, *days])
    # the HTTP API and the dashboard (one app, as served)
    client = TestClient(create_app(engine))
    http_metrics = client.get(f"/api/v1/videos/{vid}/metrics?days=3650&interval=hour").json()
    http_analysis = client.get(f"/api/v1/videos/{vid}?days=3650&interval=hour").json()
    page = client.get(f"/api/videos/{vid}?days=3650").json()
    observations_csv = client.get(f"/videos/{vid}?days=3650&format=csv&table=observations")
    # the MCP server: structured content and the text block
    tools, (answer,) = _mcp(
        database_url,
        [("analyze_video_performance", {"video_id": vid, "days": 3650, "interval": "hour"})],
    )
    assert not answer.is_error, answer.content[0].text
    mcp_structured = answer.structured_content
    mcp_text = json.loads(answer.content[0].text)
    assert {t.name: t.output_schema for t in tools}["analyze_video_performance"] == (
        models.Analysis.model_json_schema()
    )

    # the metrics: CLI == HTTP, in the model's shape, with data in every part
    check_shape(cli_metrics, models.Metrics)
    assert _without_now(http_metrics) == _without_now(cli_metrics)
    assert len(cli_metrics["series"]) == 3
    assert cli_metrics["growth"]["views"]["absolute"] is not None
    # the analysis: CLI == HTTP == MCP (structured and text)
    filled = check_shape(cli_analysis, models.Analysis)
    assert {"$.video.published_at", "$.latest.view_count", "$.series[].views"} <= filled
    expected = _without_now(cli_analysis)
    for other in (http_analysis, mcp_structured, mcp_text):
        assert _without_now(other) == expected
    # one video, one JSON: the metrics' video is the analysis' video, their series agree
    assert cli_metrics["video"] == cli_analysis["video"]
    assert cli_metrics["series"] == cli_analysis["series"]
    # the dashboard's page carries more keys; those the models name have the same values
    video = cli_analysis["video"]
    assert {key: page["video"][key] for key in video} == video
    assert models.Video.model_validate(page["video"]).json_dict() == video
    latest = cli_analysis["latest"]
    assert {key: page["latest"][key] for key in latest} == latest
    # the page's JSON is its model: the same text as the page's values converted one by one
    # (ints stay ints, floats floats, the same keys in the same order)
    raw = views.video_page(engine, vid, 3650)
    typed = models.VideoPage.model_validate(raw).json_dict()
    assert json.dumps(typed) == json.dumps(models.jsonable(raw))
    assert _without_now(typed) == _without_now(page)
    assert typed["observations"] and typed["milestone"]["views_per_hour"] is not None
    # and its CSV export writes the same latest observation
    assert observations_csv.status_code == 200
    last = list(csv.DictReader(io.StringIO(observations_csv.text)))[-1]
    assert last["observed_at"] == latest["observed_at"]
    assert int(last["view_count"]) == latest["view_count"]


# -- the dashboard's input rules are the shared ones ----------------------------------------


def test_the_dashboard_checks_its_parameters_with_the_shared_bounds(engine):
    client = TestClient(create_app(engine))
    cases = [
        (f"/?per_page={PER_PAGE.high + 1}", PER_PAGE),
        ("/api/videos?page=0", PAGE),
        (f"/compare?age_days={AGE_DAYS.high + 1}", AGE_DAYS),
        (f"/api/videos/dQw4w9WgXcQ?days={DAYS.high + 1}", DAYS),
        (f"/channels/UC{'a' * 22}?days=0", DAYS),
    ]
    for path, bound in cases:
        answer = client.get(path)
        assert answer.status_code == 400, path
        assert bound.rule in answer.text, (path, answer.text)
    assert client.get(f"/api/videos?per_page={PER_PAGE.high}").status_code == 200
