"""The MCP server over stdio, driven by the official SDK's client against a real server
process."""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import dagster as dg
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.registrations import pending_summary, queue_registrations

from .helpers import hour_range, nonexistent_id, normal_ids
from .shape_check import check_shape

pytestmark = pytest.mark.system

TOOLS = {
    "register_video_for_tracking",
    "list_registration_requests",
    "analyze_video_performance",
    "list_tracked_videos",
    "top_growing_videos",
}


@asynccontextmanager
async def mcp_session(database_url: str):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ytmetrics_dagster.surfaces.cli", "mcp"],
        env={**os.environ, "YTMETRICS_DATABASE_URL": database_url},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def call_tools(database_url: str, calls: list[tuple[str, dict]]) -> tuple[list, list]:
    async def run():
        async with mcp_session(database_url) as session:
            tools = (await session.list_tools()).tools
            return tools, [await session.call_tool(name, args) for name, args in calls]

    return anyio.run(run)


def payload(result) -> dict:
    assert not result.is_error, result.content[0].text
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def error_text(result) -> str:
    assert result.is_error
    message = result.content[0].text
    assert "Traceback" not in message and "Error executing tool" not in message, message
    return message


def cli_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_mcp_tools_over_stdio(engine, resources, database_url, capsys):
    vid, other = normal_ids(2)
    queue_registrations(engine, [(vid, vid)])
    assert dg.materialize([tracked_videos], resources=resources).success
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for h in (26, 3, 2, 1):
        key = (now - timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M")
        assert dg.materialize(
            [video_metric_snapshots], partition_key=key, resources=resources
        ).success
    dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags=hour_range(now - timedelta(hours=26), now - timedelta(hours=1)),
    )

    tools, results = call_tools(
        database_url,
        [
            ("register_video_for_tracking", {"video": f"https://www.youtube.com/shorts/{other}"}),
            ("register_video_for_tracking", {"video": other}),
            ("register_video_for_tracking", {"video": f"youtu.be/{vid}"}),
            ("register_video_for_tracking", {"video": "https://vimeo.com/12345"}),
            ("analyze_video_performance", {"video_id": vid, "days": 1, "interval": "hour"}),
            ("analyze_video_performance", {"video_id": f"https://youtu.be/{vid}", "days": 1}),
            ("analyze_video_performance", {"video_id": vid, "interval": "fortnight"}),
            ("analyze_video_performance", {"video_id": "AAAAAAAAAAA"}),
            ("list_tracked_videos", {}),
            ("top_growing_videos", {"hours": 48}),
            ("list_registration_requests", {"status": "pending"}),
        ],
    )
    assert {t.name for t in tools} == TOOLS
    (
        registered,
        again,
        tracked,
        invalid,
        analysis,
        analysis_by_url,
        bad_interval,
        unknown,
        listed,
        top,
        pending,
    ) = results

    first = payload(registered)
    check_shape(first, models.Registration)
    assert (first["video_id"], first["outcome"], first["status"]) == (other, "queued", "pending")
    assert payload(again)["outcome"] == "already_pending"
    assert payload(again)["request_id"] == first["request_id"]
    assert (payload(tracked)["outcome"], payload(tracked)["status"]) == (
        "already_tracked",
        "registered",
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT requested_by, status FROM ytmetrics.registration_requests WHERE video_id = :v"
            ),
            {"v": other},
        ).all()
    assert [tuple(r) for r in rows] == [("mcp", "pending")]

    assert "vimeo.com" in error_text(invalid)
    assert "interval must be one of 'hour', 'day', 'week' or 'month'" in error_text(bad_interval)
    assert "'AAAAAAAAAAA' is not tracked" in error_text(unknown)

    data = payload(analysis)
    check_shape(data, models.Analysis)
    assert data["video"]["video_id"] == vid
    assert data["observations"] == 3 and data["data_sources"] == ["simulator"]
    assert data["growth"]["views"]["absolute"] > 0
    assert payload(analysis_by_url)["video"] == data["video"]
    check_shape(payload(listed), models.VideoList)
    assert payload(listed)["total"] == 1
    check_shape(payload(top), models.Top)
    assert payload(top)["videos"][0]["video_id"] == vid
    check_shape(payload(pending), models.RequestList)
    assert [r["video_id"] for r in payload(pending)["requests"]] == [other]

    # the CLI's --format json returns the same shape, and here the same values
    assert cli_json(capsys, ["videos", "--limit", "50", "--format", "json"]) == payload(listed)
    assert cli_json(capsys, ["top", "--hours", "48", "--format", "json"]) == payload(top)
    assert cli_json(
        capsys, ["requests", "--status", "pending", "--limit", "20", "--format", "json"]
    ) == payload(pending)
    by_cli = cli_json(capsys, ["analyze", vid, "--days", "1", "--interval", "hour"])
    for a in (by_cli, data):
        # when each was asked: the period ends at that moment
        a["milestone"].pop("computed_at")
        a["period"].pop("start")
        a["period"].pop("end")
    assert by_cli == data


def test_input_schemas_are_strict(engine, database_url):
    tools, _ = call_tools(database_url, [])
    for tool in tools:
        schema = tool.input_schema
        assert schema["additionalProperties"] is False, tool.name
        for name, prop in schema["properties"].items():
            if prop.get("type") == "integer":
                assert "minimum" in prop and "maximum" in prop, (tool.name, name)
    by_name = {t.name: t.input_schema["properties"] for t in tools}
    assert by_name["analyze_video_performance"]["interval"]["enum"] == [
        "hour",
        "day",
        "week",
        "month",
    ]
    assert by_name["list_tracked_videos"]["status"]["enum"] == [
        "active",
        "unavailable",
        "removed",
        "all",
    ]
    assert by_name["list_registration_requests"]["status"]["enum"] == [
        "pending",
        "registered",
        "rejected",
        "failed",
        "all",
    ]
    assert by_name["top_growing_videos"]["limit"]["maximum"] == 1000
    assert by_name["list_tracked_videos"]["offset"]["maximum"] == 1_000_000_000


def test_bad_arguments_are_clear_tool_errors(engine, database_url):
    vid = normal_ids(1)[0]
    megabyte = "x" * 1_000_000
    cases = [
        ("analyze_video_performance", {"video_id": vid, "days": True}, "days must be an integer from 1 to 3660"),
        ("analyze_video_performance", {"video_id": vid, "days": "5"}, "days must be an integer from 1 to 3660"),
        ("analyze_video_performance", {"video_id": vid, "days": 2.5}, "days must be an integer from 1 to 3660"),
        ("analyze_video_performance", {"video_id": vid, "days": 0}, "days must be an integer from 1 to 3660 (got 0)"),
        ("analyze_video_performance", {"video_id": vid, "dayz": 3}, "unknown argument 'dayz'; analyze_video_performance takes: video_id, days, interval"),
        ("analyze_video_performance", {}, "video_id is required"),
        ("analyze_video_performance", {"video_id": megabyte}, "too long"),
        ("list_tracked_videos", {"limit": 10**30}, "limit must be an integer from 1 to 10000"),
        ("list_tracked_videos", {"offset": 2**63}, "offset must be an integer from 0 to 1000000000"),
        ("list_tracked_videos", {"status": megabyte}, "status must be one of"),
        ("list_tracked_videos", {"channel_id": "@handle"}, "not a handle"),
        ("list_tracked_videos", {megabyte: 1}, "unknown argument"),
        ("top_growing_videos", {"hours": 10**6}, "hours must be an integer from 1 to 8784"),
        ("top_growing_videos", {"limit": False}, "limit must be an integer from 1 to 1000"),
        ("register_video_for_tracking", {"video": megabyte}, "too long"),
        ("register_video_for_tracking", {"video": vid, "wait_seconds": 10**9}, "wait_seconds must be"),
        ("list_registration_requests", {"status": "lost"}, "status must be one of"),
        ("list_registration_requests", {"video": "https://vimeo.com/1"}, "not a YouTube video"),
        ("no_such_tool", {}, "Unknown tool"),
    ]  # fmt: skip
    _, results = call_tools(database_url, [(name, args) for name, args, _ in cases])
    for (name, _, words), result in zip(cases, results, strict=True):
        message = error_text(result)
        assert words in message, (name, message)
        assert len(message) < 1000, (name, len(message))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ytmetrics.videos")).scalar_one() == 0
        assert (
            conn.execute(text("SELECT count(*) FROM ytmetrics.registration_requests")).scalar_one()
            == 0
        )


def test_text_that_is_not_unicode_is_invalid_input(engine):
    """A JSON "\\udcff" escape reaches the server as a lone surrogate (the SDK's client will
    not send one, so the server is called in-process here)."""
    from ytmetrics_dagster.surfaces.mcp_server import server

    for name, args in (
        ("register_video_for_tracking", {"video": "https://youtu.be/dQw4w9WgXcQ?x=\udcff"}),
        ("analyze_video_performance", {"video_id": "https://youtu.be/dQw4w9WgXcQ?x=\udcff"}),
        ("list_tracked_videos", {"channel_id": "\udcff"}),
    ):
        result = anyio.run(server.call_tool, name, args)
        assert "is not valid Unicode text" in error_text(result)


def test_database_down_at_start_is_a_tool_error():
    _, results = call_tools(
        "postgresql://nobody@127.0.0.1:9/nowhere",
        [("list_tracked_videos", {}), ("register_video_for_tracking", {"video": "dQw4w9WgXcQ"})],
    )
    for result in results:
        message = error_text(result)
        assert message.startswith("cannot reach the warehouse at postgresql+psycopg://nobody@")


def test_database_dying_mid_session_is_a_tool_error_and_the_session_recovers():
    root = Path(tempfile.mkdtemp(prefix="ytm-mcp-pg-"))
    pgdata = root / "pgdata"
    try:
        url = database_on_server(start_embedded_postgres(pgdata), "ytm_mcp", "psycopg")
        upgrade(get_engine(url))
        get_engine(url).dispose()

        async def run():
            async with mcp_session(url) as session:
                up = await session.call_tool("list_tracked_videos", {})
                await anyio.to_thread.run_sync(stop_embedded_postgres, pgdata)
                down = await session.call_tool("list_tracked_videos", {})
                again = await session.call_tool("top_growing_videos", {})
                # a fresh process: embedded_postgres remembers in this one that it started it
                await anyio.run_process(
                    [
                        sys.executable,
                        "-c",
                        "import sys, pathlib; from ytmetrics_dagster.warehouse.embedded import "
                        "start_embedded_postgres as s; s(pathlib.Path(sys.argv[1]))",
                        str(pgdata),
                    ]
                )
                back = await session.call_tool("list_tracked_videos", {})
                return up, down, again, back

        up, down, again, back = anyio.run(run)
    finally:
        stop_embedded_postgres(pgdata)
        shutil.rmtree(root, ignore_errors=True)
    assert payload(up)["total"] == 0
    for result in (down, again):
        assert error_text(result).startswith("the warehouse is unavailable: ")
    assert payload(back)["total"] == 0


def test_register_can_wait_for_the_verdict(engine, resources, database_url):
    ghost = nonexistent_id()

    def apply_once_queued():
        """What registration_requests_sensor does: apply the request once it is there."""
        deadline = time.monotonic() + 30
        while pending_summary(engine)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert dg.materialize([tracked_videos], resources=resources).success

    applier = threading.Thread(target=apply_once_queued)
    applier.start()
    _, (result,) = call_tools(
        database_url, [("register_video_for_tracking", {"video": ghost, "wait_seconds": 60})]
    )
    applier.join()
    verdict = payload(result)
    check_shape(verdict, models.Registration)
    assert (verdict["outcome"], verdict["status"]) == ("queued", "rejected")
    assert verdict["reason"].startswith("YouTube did not return this video")
