"""The HTTP API, mounted at /api/v1 beside the dashboard (same server, same port).

Reads (open on 127.0.0.1 unless YTMETRICS_API_READ_TOKENS=required):
    GET    /videos                        VIDEO_LIST       (status, channel, limit, offset)
    GET    /videos/{video}                ANALYSIS         (days, interval)
    GET    /videos/{video}/metrics        METRICS          (days, interval)
    GET    /top                           TOP              (hours, limit, channel)
    GET    /requests                      REQUEST_LIST     (status, video, limit, offset)
    GET    /channels                      CHANNEL_LIST     (all)
    GET    /alerts                        ALERT_LIST       (all, limit, offset)
    GET    /collections                   COLLECTION_LIST  (status, limit, offset)
    GET    /collections/{request_id}      COLLECTION
Writes (a token that is not read-only, ``Authorization: Bearer …``):
    POST   /registrations                 REGISTRATIONS    {"videos": [...], "wait_seconds"}
    DELETE /videos/{video}                REMOVAL          (delete_metrics)
    POST   /videos/{video}/collect        COLLECTION       {"wait_seconds"}
    POST   /channels                      CHANNEL_CHANGE   {"channel", "existing"}
    DELETE /channels/{channel}            CHANNEL_CHANGE
    POST   /alerts/{alert_id}/ack         ALERT_ROW

Results are the models of ``ytmetrics_dagster.surfaces.results`` (the CLI's ``--format json`` and the
MCP tools return the same; each route's ``response_model``); parameters have the CLI's names, defaults and bounds
(``ytmetrics_dagster.surfaces.inputs``). Every error is ``ERROR``, ``{"error": message, "status": code}``: 400
invalid input (nothing changed), 401 no or bad token, 403 read-only token, 404 unknown video,
alert, channel or request, 503 the warehouse is unavailable. Unknown or repeated query
parameters are invalid input. The OpenAPI document is /api/v1/openapi.json (and
docs/openapi.json in the repository).
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import annotated_types
from fastapi import Body, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from ytmetrics_dagster.settings import ApiSettings, load_api_settings
from ytmetrics_dagster.surfaces import actions, results
from ytmetrics_dagster.surfaces.api.auth import AuthError, require_read, require_write
from ytmetrics_dagster.surfaces.inputs import (
    ALERTS_LIMIT,
    COLLECTIONS_LIMIT,
    DAYS,
    EXISTING_UPLOADS,
    EXIT_INVALID,
    HTTP_WAIT_SECONDS,
    ID,
    LIST_LIMIT,
    OFFSET,
    REQUESTS_LIMIT,
    TOP_HOURS,
    TOP_LIMIT,
    Bound,
    UserInputError,
    channel_filter,
    check_text,
    clip,
    clip_message,
    describe_failure,
)
from ytmetrics_dagster.warehouse import (
    alert_inbox,
    collections,
    metric_series,
    performance,
    read_limits,
    registrations,
    top_growers,
    video_listing,
)
from ytmetrics_dagster.warehouse.alert_inbox import UnknownAlertError
from ytmetrics_dagster.warehouse.channels import UnknownChannelError
from ytmetrics_dagster.warehouse.videos import UnknownVideoError, remove_video
from ytmetrics_dagster.youtube.ids import VIDEO_ID_RE, parse_video_id, parse_video_inputs

log = logging.getLogger(__name__)

VERSION = "1"
PREFIX = "/api/v1"
MAX_REGISTRATION_INPUTS = 1000
# invalid inputs named one by one before "and N more" (as the CLI)
_MAX_LISTED_ERRORS = 10

VideoStatus = Literal["active", "unavailable", "removed", "all"]
RequestStatus = Literal["pending", "registered", "rejected", "all"]
CollectionStatus = Literal["pending", "collected", "failed", "all"]
Interval = Literal[read_limits.INTERVALS]


def _integer(bound: Bound, where=Query):
    """An integer parameter with the CLI's rule: parsed as the CLI parses it (``Bound.parse``),
    documented with its range."""

    if where is Field:  # a JSON body: an integer is a JSON integer (as the MCP tools take it)
        return Annotated[
            int,
            Field(strict=True, ge=bound.low, le=bound.high, description=bound.rule + "."),
        ]

    def parse(raw: Any) -> Any:
        return bound.parse(raw) if isinstance(raw, str) else raw

    return Annotated[
        int,
        annotated_types.Ge(bound.low),
        annotated_types.Le(bound.high),
        BeforeValidator(parse),
        where(description=bound.rule + "."),
    ]


VideoPath = Annotated[
    str,
    Path(
        description="A video id (11 characters; bodies and query parameters also take any "
        "YouTube video URL form).",
        pattern=VIDEO_ID_RE.pattern,
    ),
]
ChannelQuery = Annotated[
    str | None, Query(description="Only this channel's videos (UC… id or channel URL).")
]


# -- responses -------------------------------------------------------------------------------

_NOTHING = object()


def _no_store(response: Response) -> None:
    """Every answer is current state: never cached (errors say so themselves)."""
    response.headers["Cache-Control"] = "no-store"


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        results.Error(error=message, status=status).json_dict(),
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


_NOT_FOUND = (UnknownVideoError, UnknownAlertError, UnknownChannelError)


def _failures(fn):
    """Anticipated failures become their status with the CLI's message; bugs stay bugs."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AuthError:
            raise
        except Exception as err:
            described = describe_failure(err)
            if described is None:
                raise
            code, message = described
            if isinstance(err, _NOT_FOUND):
                return _error(404, message)
            return _error(400 if code == EXIT_INVALID else 503, message)

    return wrapper


def _engine(request: Request) -> Engine:
    return request.app.state.engine


Reader = Annotated[Any, Depends(require_read)]
Writer = Annotated[Any, Depends(require_write)]


def _video(raw: str, name: str = "video") -> str:
    return parse_video_id(check_text(raw, name))


# -- reads ----------------------------------------------------------------------------------


def _list_videos(
    request: Request,
    _: Reader,
    status: VideoStatus = "active",
    channel: ChannelQuery = None,
    limit: _integer(LIST_LIMIT) = 100,
    offset: _integer(OFFSET) = 0,
):
    channel_id = channel_filter(channel) if channel is not None else None
    frame, total = video_listing.video_rows(
        _engine(request), status=status, channel_id=channel_id, limit=limit, offset=offset
    )
    return results.VideoList.model_validate(
        {"total": total, "offset": offset, "limit": limit, "videos": frame}
    )


def _analysis(
    request: Request,
    _: Reader,
    video: VideoPath,
    days: _integer(DAYS) = 7,
    interval: Interval = "hour",
):
    result = performance.analyze_video_performance(_engine(request), _video(video), days, interval)
    return results.Analysis.from_read(result)


def _metrics(
    request: Request,
    _: Reader,
    video: VideoPath,
    days: _integer(DAYS) = 7,
    interval: Interval = "day",
):
    result = metric_series.video_metrics(
        _engine(request), _video(video), days=days, interval=interval
    )
    return results.Metrics.from_read(result, metric_series.GROWTH_DEFINITION)


def _top(
    request: Request,
    _: Reader,
    hours: _integer(TOP_HOURS) = 24,
    limit: _integer(TOP_LIMIT) = 10,
    channel: ChannelQuery = None,
):
    channel_id = channel_filter(channel) if channel is not None else None
    frame = top_growers.top_growing_rows(
        _engine(request), hours=hours, limit=limit, channel_id=channel_id
    )
    return results.Top.model_validate(
        {
            "hours": hours,
            "limit": limit,
            "channel_id": channel_id,
            "method": top_growers.TOP_GROWERS_METHOD,
            "videos": frame,
        }
    )


def _requests(
    request: Request,
    _: Reader,
    status: RequestStatus = "all",
    video: Annotated[
        str | None, Query(description="Only this video's requests (id or URL).")
    ] = None,
    limit: _integer(REQUESTS_LIMIT) = 50,
    offset: _integer(OFFSET) = 0,
):
    video_id = _video(video) if video is not None else None
    frame, total = registrations.request_rows(
        _engine(request), status=status, video_id=video_id, limit=limit, offset=offset
    )
    return results.RequestList.model_validate(
        {"total": total, "offset": offset, "limit": limit, "requests": frame}
    )


def _channels(
    request: Request,
    _: Reader,
    all: Annotated[bool, Query(description="Include untracked channels.")] = False,
):
    from ytmetrics_dagster.warehouse.channels import channel_rows

    frame = channel_rows(_engine(request), include_untracked=all)
    return results.ChannelList.model_validate({"total": len(frame), "channels": frame})


def _alerts(
    request: Request,
    _: Reader,
    all: Annotated[bool, Query(description="Include acknowledged alerts.")] = False,
    limit: _integer(ALERTS_LIMIT) = 50,
    offset: _integer(OFFSET) = 0,
):
    frame, total = alert_inbox.alert_rows(
        _engine(request), include_acknowledged=all, limit=limit, offset=offset
    )
    return results.AlertList.model_validate(
        {"total": total, "offset": offset, "limit": limit, "alerts": frame}
    )


def _collections(
    request: Request,
    _: Reader,
    status: CollectionStatus = "all",
    limit: _integer(COLLECTIONS_LIMIT) = 50,
    offset: _integer(OFFSET) = 0,
):
    frame, total = collections.list_requests(
        _engine(request), status=status, limit=limit, offset=offset
    )
    return results.CollectionList.model_validate(
        {"total": total, "offset": offset, "limit": limit, "collections": frame}
    )


def _collection(request: Request, _: Reader, request_id: _integer(ID, Path)):
    row = collections.get_request(_engine(request), request_id)
    if row is None:
        return _error(404, f"there is no collection request {request_id}")
    return results.Collection.model_validate(row)


# -- writes ---------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistrationBody(_Body):
    videos: list[str] = Field(
        min_length=1,
        max_length=MAX_REGISTRATION_INPUTS,
        description="Video ids or any YouTube video URL form (watch, youtu.be, shorts, live, "
        "embed). If any is invalid, none is queued.",
    )
    wait_seconds: _integer(HTTP_WAIT_SECONDS, Field) = 0


class CollectBody(_Body):
    wait_seconds: _integer(HTTP_WAIT_SECONDS, Field) = 0


class ChannelBody(_Body):
    channel: str = Field(description="A channel id (UC…), handle (@…) or channel URL.")
    existing: (
        Annotated[int, Field(ge=EXISTING_UPLOADS.low, le=EXISTING_UPLOADS.high, strict=True)]
        | Literal["all"]
    ) = Field(0, description="Also register the latest N existing uploads, or 'all'.")


def _register(request: Request, token: Writer, body: Annotated[RegistrationBody, Body()]):
    for raw in body.videos:
        check_text(raw, "video")
    parsed, errors = parse_video_inputs(body.videos)
    if errors:
        listed = errors[:_MAX_LISTED_ERRORS]
        if len(errors) > _MAX_LISTED_ERRORS:
            listed.append(f"and {len(errors) - _MAX_LISTED_ERRORS} more")
        raise UserInputError("; ".join(listed) + "; nothing was queued")
    engine = _engine(request)
    outcomes = registrations.request_registrations(engine, parsed, requested_by="api")
    if body.wait_seconds:
        outcomes = registrations.await_verdicts(engine, outcomes, body.wait_seconds)
    return results.Registrations.model_validate({"registrations": outcomes})


def _remove(
    request: Request,
    token: Writer,
    video: VideoPath,
    delete_metrics: Annotated[
        bool, Query(description="Also delete its snapshots and growth rows.")
    ] = False,
):
    video_id = _video(video)
    removal = remove_video(
        _engine(request), video_id, delete_metrics=delete_metrics, now=datetime.now(UTC)
    )
    return results.Removal.model_validate(
        {
            "video_id": video_id,
            "already_removed": removal.already_removed,
            "removed_at": removal.removed_at,
            "deleted": removal.deleted,
        }
    )


def _collect(
    request: Request,
    response: Response,
    token: Writer,
    video: VideoPath,
    body: Annotated[CollectBody | None, Body()] = None,
):
    engine = _engine(request)
    row = collections.request_collection(engine, _video(video), requested_by=f"api:{token.name}")
    wait = body.wait_seconds if body else 0
    if wait and row["status"] == "pending":
        row = collections.await_request(engine, row["request_id"], wait)
    response.status_code = 202 if row["status"] == "pending" else 200
    return results.Collection.model_validate(row)


def _track(request: Request, token: Writer, body: Annotated[ChannelBody, Body()]):
    existing = None if body.existing == "all" else body.existing
    result = actions.track(
        _engine(request),
        check_text(body.channel, "channel"),
        existing=existing,
        requested_by="api",
    )
    info = result.channel
    return results.ChannelChange.model_validate(
        {
            "channel_id": info.channel_id,
            "handle": info.handle,
            "title": info.title,
            "status": "tracked",
            "queued": result.queued,
        }
    )


def _untrack(
    request: Request,
    token: Writer,
    channel: Annotated[str, Path(description="A channel id (UC…) or handle (@…).")],
):
    channel_id = actions.untrack(_engine(request), check_text(channel, "channel"))
    return results.ChannelChange.model_validate(
        {"channel_id": channel_id, "status": "untracked", "queued": 0}
    )


def _acknowledge(request: Request, token: Writer, alert_id: _integer(ID, Path)):
    row = alert_inbox.acknowledge(
        _engine(request), alert_id, by=f"api:{token.name}", now=datetime.now(UTC)
    )
    return results.AlertRow.model_validate(row)


def alert_line(engine: Engine) -> str | None:
    """The dashboard's line while an alert waits for a person (None when none does)."""
    count, newest = alert_inbox.unacknowledged(engine)
    if not count:
        return None
    more = f" (and {count - 1} more)" if count > 1 else ""
    return (
        f"ALERT {newest['alert_id']} ({newest['kind']}, {results.timestamp(newest['created_at'])}): "
        f"{clip_message(newest['message'])[:300]}{more} — acknowledge with "
        f"`ytmetrics alerts ack {newest['alert_id']}`; `ytmetrics alerts` lists them"
    )


# -- the app --------------------------------------------------------------------------------

_ERRORS = {
    400: "Invalid input; nothing was changed.",
    401: "No token, or not a valid one; nothing was changed.",
    403: "The token is read-only; nothing was changed.",
    404: "No such video, channel, alert or request.",
    405: "This path does not take this method.",
    503: "The warehouse is unavailable.",
}

# (method, path, handler, result model, summary, write?)
ROUTES = [
    ("GET", "/videos", _list_videos, results.VideoList, "Tracked videos, newest first", False),
    (
        "GET",
        "/videos/{video}",
        _analysis,
        results.Analysis,
        "One video: series, growth, analysis",
        False,
    ),
    (
        "GET",
        "/videos/{video}/metrics",
        _metrics,
        results.Metrics,
        "A video's metrics with growth",
        False,
    ),
    ("GET", "/top", _top, results.Top, "Videos that gained the most views recently", False),
    (
        "GET",
        "/requests",
        _requests,
        results.RequestList,
        "Registration requests and verdicts",
        False,
    ),
    ("GET", "/channels", _channels, results.ChannelList, "Tracked channels", False),
    ("GET", "/alerts", _alerts, results.AlertList, "Alerts (unacknowledged unless all)", False),
    ("GET", "/collections", _collections, results.CollectionList, "Collect-now requests", False),
    (
        "GET",
        "/collections/{request_id}",
        _collection,
        results.Collection,
        "One collect-now request",
        False,
    ),
    ("POST", "/registrations", _register, results.Registrations, "Register videos", True),
    ("DELETE", "/videos/{video}", _remove, results.Removal, "Stop tracking a video", True),
    ("POST", "/videos/{video}/collect", _collect, results.Collection, "Observe a video now", True),
    ("POST", "/channels", _track, results.ChannelChange, "Track a channel", True),
    (
        "DELETE",
        "/channels/{channel}",
        _untrack,
        results.ChannelChange,
        "Stop polling a channel",
        True,
    ),
    (
        "POST",
        "/alerts/{alert_id}/ack",
        _acknowledge,
        results.AlertRow,
        "Acknowledge an alert",
        True,
    ),
]


def _known_parameters(request: Request) -> None:
    """Unknown or repeated query parameters are invalid input, as unknown options are for the
    CLI and unknown arguments for the MCP tools."""
    route = request.scope.get("route")
    known = {p.alias for p in route.dependant.query_params} if route is not None else set()
    seen = set()
    for name, _ in request.query_params.multi_items():
        if name not in known:
            valid = ", ".join(sorted(known)) or "none"
            raise UserInputError(f"unknown query parameter {clip(name, 60)}; valid: {valid}")
        if name in seen:
            raise UserInputError(f"query parameter {name!r} is given more than once")
        seen.add(name)


_BODY_BOUNDS = {"wait_seconds": HTTP_WAIT_SECONDS, "existing": EXISTING_UPLOADS}


def _validation_message(err: RequestValidationError) -> str:
    messages = []
    for e in err.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or "request body"
        given = e.get("input")
        shown = clip(given, 60) if isinstance(given, str) else None
        bound = _BODY_BOUNDS.get(loc[-1] if loc else "")
        if e["type"] == "missing":
            messages.append(f"{name} is required")
        elif e["type"] == "extra_forbidden":
            messages.append(f"unknown field {clip(name, 60)}")
        elif bound is not None and e["type"] != "literal_error":
            messages.append(f"{bound.rule} (got {shown or repr(given)[:60]})")
        elif e["type"] == "value_error":
            # Bound.parse: the rule and what was given, already clipped
            messages.append(str(e.get("ctx", {}).get("error", e["msg"])))
        else:
            messages.append(f"{name}: {e['msg']}" + (f" (got {shown})" if shown else ""))
    return clip_message("invalid input: " + "; ".join(messages))


def _openapi(app: FastAPI) -> dict:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="ytmetrics HTTP API",
        version=VERSION,
        description=(
            "Hourly YouTube video statistics: the same results and input rules as the "
            "`ytmetrics` CLI and the MCP server. Writes need a token (`ytmetrics tokens "
            "create`), sent as `Authorization: Bearer <token>`."
        ),
        routes=app.routes,
        servers=[{"url": PREFIX}],
    )
    schema["components"].setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
    }
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    for path in schema["paths"].values():
        for operation in path.values():
            operation["responses"].pop("422", None)
    app.openapi_schema = schema
    return schema


def create_api(engine: Engine, settings: ApiSettings | None = None) -> FastAPI:
    """The API over ``engine``'s warehouse; mount it at ``PREFIX``."""
    app = FastAPI(
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(_known_parameters)],
    )
    app.state.engine = engine
    app.state.settings = settings or load_api_settings()
    error_responses = {
        str(code): {"model": results.Error, "description": text} for code, text in _ERRORS.items()
    }
    for method, path, handler, result, summary, write in ROUTES:
        success = 202 if handler is _collect else 200
        responses: dict[Any, Any] = {**error_responses}
        if handler is _collect:
            responses["200"] = {"model": result, "description": "The request has its verdict."}
        app.add_api_route(
            path,
            _failures(handler),
            methods=[method],
            summary=summary,
            name=handler.__name__.lstrip("_"),
            status_code=success,
            response_model=result,
            response_description=summary,
            responses=responses,
            dependencies=[Depends(_no_store)],
            openapi_extra={"security": [{"bearer": []}] if write else [{}, {"bearer": []}]},
        )

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError):
        return _error(400, _validation_message(exc))

    @app.exception_handler(UserInputError)
    def _user_input(request: Request, exc: UserInputError):
        return _error(400, clip_message(str(exc)))

    @app.exception_handler(AuthError)
    def _auth(request: Request, exc: AuthError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.message, headers)

    @app.exception_handler(HTTPException)
    def _http(request: Request, exc: HTTPException):
        if exc.status_code == 404:
            return _error(404, f"no API operation at {clip(request.url.path, 100)}")
        if exc.status_code == 405:
            return _error(405, f"{request.method} is not allowed on this path")
        return _error(exc.status_code, clip_message(str(exc.detail)))

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception):
        log.error("API error", exc_info=exc)
        return _error(500, "something went wrong on the server; the error is logged")

    app.openapi = functools.partial(_openapi, app)
    return app
