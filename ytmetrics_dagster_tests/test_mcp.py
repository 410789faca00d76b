"""The MCP server over stdio, driven by the official SDK's client."""

import json
import os
import sys
from datetime import UTC, datetime, timedelta

import anyio
import dagster as dg
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from sqlalchemy import text

from ytmetrics_dagster.defs.assets.growth import video_growth_hourly
from ytmetrics_dagster.defs.assets.snapshots import video_metric_snapshots
from ytmetrics_dagster.defs.assets.videos import tracked_videos
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import normal_ids


def call_tools(database_url: str, calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ytmetrics_dagster.cli", "mcp"],
        env={**os.environ, "YTMETRICS_DATABASE_URL": database_url},
    )

    async def run():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            results = [await session.call_tool(name, args) for name, args in calls]
            return tools, results

    return anyio.run(run)


def payload(result) -> dict:
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def test_mcp_tools_over_stdio(engine, resources, database_url):
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
        tags={
            "dagster/asset_partition_range_start": (now - timedelta(hours=26)).strftime(
                "%Y-%m-%d-%H:%M"
            ),
            "dagster/asset_partition_range_end": (now - timedelta(hours=1)).strftime(
                "%Y-%m-%d-%H:%M"
            ),
        },
    )

    tools, results = call_tools(
        database_url,
        [
            ("register_video_for_tracking", {"video": f"https://www.youtube.com/shorts/{other}"}),
            ("register_video_for_tracking", {"video": "https://vimeo.com/12345"}),
            ("analyze_video_performance", {"video_id": vid, "days": 1, "interval": "hour"}),
            ("analyze_video_performance", {"video_id": vid, "interval": "fortnight"}),
            ("analyze_video_performance", {"video_id": "AAAAAAAAAAA"}),
            ("list_tracked_videos", {}),
            ("top_growing_videos", {"hours": 48}),
        ],
    )
    assert set(tools) == {
        "register_video_for_tracking",
        "analyze_video_performance",
        "list_tracked_videos",
        "top_growing_videos",
    }
    registered, invalid, analysis, bad_interval, unknown, listed, top = results

    assert not registered.is_error and payload(registered)["video_id"] == other
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT video_id, requested_by, status FROM ytmetrics.registration_requests WHERE video_id = :v"
            ),
            {"v": other},
        ).one()
    assert tuple(row) == (other, "mcp", "pending")

    for result, words in (
        (invalid, "vimeo.com"),
        (bad_interval, "hour, day, week, month"),
        (unknown, "not tracked"),
    ):
        assert result.is_error
        message = result.content[0].text
        assert words in message and "Traceback" not in message

    data = payload(analysis)
    assert data["video"]["video_id"] == vid
    assert data["observations"] == 3 and data["data_sources"] == ["simulator"]
    assert data["growth"]["views"]["absolute"] > 0
    assert payload(listed)["total"] == 1
    assert payload(top)["videos"][0]["video_id"] == vid
