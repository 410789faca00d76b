"""The MCP server (stdio): the seed's integration, over the same warehouse read API.

Tools:
  register_video_for_tracking(video)           queue a registration, exactly as the CLI does
  analyze_video_performance(video_id, days, interval)   the read API's analysis, as JSON
  list_tracked_videos(status, channel_id, limit, offset)
  top_growing_videos(hours, limit, channel_id)

Invalid input is returned as an MCP tool error with a clear message, never a traceback.
Everything returned comes from stored observations; nothing is simulated here (data that
came from the YouTube simulator says so in ``data_sources``).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from ytmetrics_dagster.warehouse.engine import (
    DatabaseUnavailableError,
    check_connection,
    get_engine,
    warehouse_url,
)
from ytmetrics_dagster.warehouse.migrate import SchemaOutOfDateError, require_current
from ytmetrics_dagster.warehouse.queries import (
    INTERVALS,
    InvalidQueryError,
    list_videos,
    top_growing,
)
from ytmetrics_dagster.warehouse.queries import (
    analyze_video_performance as analyze,
)
from ytmetrics_dagster.warehouse.videos import UnknownVideoError, queue_registrations
from ytmetrics_dagster.youtube.ids import InvalidVideoInput, parse_video_id

server = MCPServer(
    name="ytmetrics",
    instructions=(
        "Hourly YouTube video statistics kept in Postgres. Register videos for tracking and "
        "analyse their real observed growth (no simulated history)."
    ),
)


@cache
def _engine():
    engine = get_engine(warehouse_url())
    check_connection(engine)
    require_current(engine)
    return engine


def _guard(fn, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except (InvalidVideoInput, InvalidQueryError, UnknownVideoError) as err:
        raise ToolError(str(err)) from None
    except (DatabaseUnavailableError, SchemaOutOfDateError) as err:
        raise ToolError(f"warehouse unavailable: {err}") from None


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@server.tool(description="Queue a YouTube video (id or any video URL form) for hourly tracking.")
def register_video_for_tracking(video: str) -> dict:
    video_id = _guard(parse_video_id, video)
    (request_id,) = _guard(queue_registrations, _engine(), [(video, video_id)], requested_by="mcp")
    return {
        "video_id": video_id,
        "request_id": request_id,
        "status": "pending",
        "message": "queued; Dagster's registration sensor applies it within a minute",
    }


@server.tool(
    description="Analyse a tracked video's observed performance: metrics by hour/day/week/month "
    "with growth, velocity, engagement, launch curve versus the channel median, milestone ETA."
)
def analyze_video_performance(video_id: str, days: int = 7, interval: str = "hour") -> dict:
    if interval not in INTERVALS:
        raise ToolError(f"invalid interval {interval!r}; valid: {', '.join(INTERVALS)}")
    vid = _guard(parse_video_id, video_id)
    return _json_safe(_guard(analyze, _engine(), vid, days=days, interval=interval))


@server.tool(
    description="List tracked videos, newest first (status: active|unavailable|removed|all)."
)
def list_tracked_videos(
    status: str = "active", channel_id: str | None = None, limit: int = 50, offset: int = 0
) -> dict:
    frame, total = _guard(
        list_videos, _engine(), status=status, channel_id=channel_id, limit=limit, offset=offset
    )
    return {
        "total": total,
        "videos": json.loads(frame.to_json(orient="records", date_format="iso")),
    }


@server.tool(description="Videos that gained the most views over the last `hours` hours.")
def top_growing_videos(hours: int = 24, limit: int = 10, channel_id: str | None = None) -> dict:
    frame = _guard(top_growing, _engine(), hours=hours, limit=limit, channel_id=channel_id)
    return {
        "hours": hours,
        "videos": json.loads(frame.to_json(orient="records", date_format="iso")),
    }


def main() -> None:
    server.run("stdio")


if __name__ == "__main__":
    main()
