"""The MCP server (stdio): the seed's integration, over the same warehouse read API as the CLI.

Tools (results are the models of ``ytmetrics_dagster.surfaces.results``, the same as the CLI's
``--format json``; each tool's output schema is its model's JSON schema and its result comes as
structured content, and as the same JSON in a text block):
  register_video_for_tracking(video, wait_seconds)       REGISTRATION
  list_registration_requests(status, video, limit, offset)   REQUEST_LIST
  analyze_video_performance(video_id, days, interval)    ANALYSIS
  list_tracked_videos(status, channel_id, limit, offset) VIDEO_LIST
  top_growing_videos(hours, limit, channel_id)           TOP

Input schemas are strict: numbers are integers within the read API's bounds (booleans and
strings are not numbers), statuses and intervals are enums, unknown arguments are rejected.
Every anticipated failure (bad input, an unknown video, a warehouse that is down or goes
down mid-session) comes back as a tool error whose text says what happened, never a
traceback; at most 200 characters of a rejected input are echoed. Everything returned comes
from stored observations (data collected from the YouTube simulator says so in
``data_sources``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from functools import cache
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent
from pydantic import ConfigDict, Field, ValidationError

from ytmetrics_dagster.surfaces import results
from ytmetrics_dagster.surfaces.inputs import (
    DAYS,
    LIST_LIMIT,
    MCP_WAIT_SECONDS,
    OFFSET,
    REQUESTS_LIMIT,
    TOP_HOURS,
    TOP_LIMIT,
    Bound,
    UserInputError,
    check_text,
    clip,
    clip_message,
    describe_failure,
)
from ytmetrics_dagster.warehouse import (
    performance,
    read_limits,
    registrations,
    top_growers,
    video_listing,
)
from ytmetrics_dagster.warehouse.engine import check_connection, get_engine, warehouse_url
from ytmetrics_dagster.warehouse.migrate import require_current
from ytmetrics_dagster.youtube.ids import parse_channel, parse_video_id

Interval = Literal[read_limits.INTERVALS]
VideoStatus = Literal["active", "unavailable", "removed", "all"]
RequestStatus = Literal["pending", "registered", "rejected", "failed", "all"]


def _int(bound: Bound) -> Any:
    return Annotated[
        int, Field(strict=True, ge=bound.low, le=bound.high, description=bound.rule + ".")
    ]


@cache
def _engine():
    engine = get_engine(warehouse_url())
    check_connection(engine)
    require_current(engine)
    return engine


@contextmanager
def _failures():
    """Anticipated failures become tool errors with their message; bugs stay bugs."""
    try:
        yield
    except ToolError:
        raise
    except Exception as err:
        described = describe_failure(err)
        if described is None:
            raise
        raise ToolError(described[1]) from None


def _channel_id(channel: str | None) -> str | None:
    if channel is None:
        return None
    ref = parse_channel(check_text(channel, "channel_id"))
    if ref.channel_id is None:
        raise UserInputError(
            f"filter by a channel id (UC…), not a handle: {clip(channel)}; "
            "`ytmetrics channels` lists the tracked channels with their ids"
        )
    return ref.channel_id


def register_video_for_tracking(
    video: Annotated[str, Field(description="A video id or any YouTube video URL form.")],
    wait_seconds: _int(MCP_WAIT_SECONDS) = 0,
) -> results.Registration:
    with _failures():
        video_id = parse_video_id(check_text(video, "video"))
        engine = _engine()
        (outcome,) = registrations.request_registrations(
            engine, [(video, video_id)], requested_by="mcp"
        )
        if wait_seconds:
            (outcome,) = registrations.await_verdicts(engine, [outcome], wait_seconds)
        return results.Registration.model_validate(outcome)


def list_registration_requests(
    status: RequestStatus = "all",
    video: Annotated[
        str | None, Field(description="Only requests for this video (id or URL).")
    ] = None,
    limit: _int(REQUESTS_LIMIT) = 20,
    offset: _int(OFFSET) = 0,
) -> results.RequestList:
    with _failures():
        video_id = parse_video_id(check_text(video, "video")) if video is not None else None
        frame, total = registrations.request_rows(
            _engine(), status=status, video_id=video_id, limit=limit, offset=offset
        )
        return results.RequestList.model_validate(
            {"total": total, "offset": offset, "limit": limit, "requests": frame}
        )


def analyze_video_performance(
    video_id: Annotated[str, Field(description="A tracked video's id or any video URL form.")],
    days: _int(DAYS) = 7,
    interval: Interval = "hour",
) -> results.Analysis:
    with _failures():
        vid = parse_video_id(check_text(video_id, "video_id"))
        return results.Analysis.from_read(
            performance.analyze_video_performance(_engine(), vid, days=days, interval=interval)
        )


def list_tracked_videos(
    status: VideoStatus = "active",
    channel_id: Annotated[
        str | None, Field(description="Only this channel's videos (UC… id or channel URL).")
    ] = None,
    limit: _int(LIST_LIMIT) = 50,
    offset: _int(OFFSET) = 0,
) -> results.VideoList:
    with _failures():
        channel = _channel_id(channel_id)
        frame, total = video_listing.video_rows(
            _engine(), status=status, channel_id=channel, limit=limit, offset=offset
        )
        return results.VideoList.model_validate(
            {"total": total, "offset": offset, "limit": limit, "videos": frame}
        )


def top_growing_videos(
    hours: _int(TOP_HOURS) = 24,
    limit: _int(TOP_LIMIT) = 10,
    channel_id: Annotated[
        str | None, Field(description="Only this channel's videos (UC… id or channel URL).")
    ] = None,
) -> results.Top:
    with _failures():
        channel = _channel_id(channel_id)
        frame = top_growers.top_growing_rows(
            _engine(), hours=hours, limit=limit, channel_id=channel
        )
        return results.Top.model_validate(
            {
                "hours": hours,
                "limit": limit,
                "channel_id": channel,
                "method": top_growers.TOP_GROWERS_METHOD,
                "videos": frame,
            }
        )


TOOLS: list[tuple[Callable, str]] = [
    (
        register_video_for_tracking,
        "Queue a YouTube video (id or any video URL form) for hourly tracking. An already "
        "tracked or already pending video is reported, not queued again. With wait_seconds, "
        "wait that long for the verdict (registered; rejected with the reason; or failed with the "
        "cause when YouTube could not be asked: unreachable, key invalid, quota spent).",
    ),
    (
        list_registration_requests,
        "Registration requests, newest first, with each verdict and the reason of rejections.",
    ),
    (
        analyze_video_performance,
        "Analyse a tracked video's observed performance: metrics by hour/day/week/month with "
        "growth, velocity, engagement, launch curve versus the channel median, milestone ETA.",
    ),
    (
        list_tracked_videos,
        "List tracked videos, newest first (status: active|unavailable|removed|all).",
    ),
    (top_growing_videos, "Videos that gained the most views over the last `hours` hours."),
]


def _strict(tool: Tool) -> Tool:
    """Unknown arguments are errors, not silently dropped (``additionalProperties: false``)."""
    base = tool.fn_metadata.arg_model
    strict = type(
        base.__name__,
        (base,),
        {"model_config": ConfigDict(extra="forbid"), "__module__": base.__module__},
    )
    tool.fn_metadata.arg_model = strict
    tool.parameters = strict.model_json_schema(by_alias=True)
    return tool


_INT_PARAMS: dict[tuple[str, str], Bound] = {
    ("register_video_for_tracking", "wait_seconds"): MCP_WAIT_SECONDS,
    ("list_registration_requests", "limit"): REQUESTS_LIMIT,
    ("list_registration_requests", "offset"): OFFSET,
    ("analyze_video_performance", "days"): DAYS,
    ("list_tracked_videos", "limit"): LIST_LIMIT,
    ("list_tracked_videos", "offset"): OFFSET,
    ("top_growing_videos", "hours"): TOP_HOURS,
    ("top_growing_videos", "limit"): TOP_LIMIT,
}


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return clip(value, 60)
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return "a number too large to show"
    return text if len(text) <= 60 else text[:60] + "…"


def _argument_errors(tool: str, err: ValidationError, known: list[str]) -> str:
    """Pydantic's report in the words the CLI uses: one sentence per argument."""
    messages = []
    for e in err.errors():
        name = ".".join(str(part) for part in e["loc"]) or "arguments"
        given = e.get("input")
        bound = _INT_PARAMS.get((tool, name))
        if e["type"] == "extra_forbidden":
            messages.append(f"unknown argument {clip(name, 60)}; {tool} takes: {', '.join(known)}")
        elif e["type"] == "missing":
            messages.append(f"{name} is required")
        elif bound is not None:
            messages.append(f"{bound.rule} (got {_shown(given)})")
        elif e["type"] == "literal_error":
            expected = e.get("ctx", {}).get("expected", "")
            messages.append(f"{name} must be one of {expected} (got {_shown(given)})")
        else:
            messages.append(f"{name}: {e['msg']} (got {_shown(given)})")
    return clip_message("invalid arguments: " + "; ".join(messages))


class YtMetricsServer(MCPServer):
    async def call_tool(self, name: str, arguments: dict[str, Any], context=None):
        """Tool errors read as their message alone (no "Error executing tool" prefix)."""
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                tool = self._tool_manager.get_tool(name)
                known = list(tool.parameters.get("properties", {})) if tool else []
                text = _argument_errors(name, cause, known)
            elif isinstance(cause, ToolError):
                text = str(cause)
            else:
                text = clip_message(str(exc))
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


server = YtMetricsServer(
    name="ytmetrics",
    instructions=(
        "Hourly YouTube video statistics kept in Postgres. Register videos for tracking and "
        "analyse their real observed growth (no simulated history). Timestamps are UTC."
    ),
    tools=[_strict(Tool.from_function(fn, description=text)) for fn, text in TOOLS],
)


def main() -> None:
    server.run("stdio")


if __name__ == "__main__":
    main()
