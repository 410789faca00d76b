"""The dashboard's routes: a read-only Starlette app over the warehouse read API.

    /                       tracked videos: search, status/channel filters, sort, paging
    /videos/{video}         one video: views, views/hour, launch curve, milestone (charts)
    /api/videos             the list as JSON (same parameters)
    /api/videos/{video}     the video page's data as JSON (what its charts draw)
    /metrics                the warehouse's figures for Prometheus (dashboard/metrics.py)
    /api/v1/...             the HTTP API (ytmetrics_dagster.surfaces.api: reads, and writes with a token)
    /compare                up to 8 videos overlaid by age and by calendar time (+ /api/compare)
    /channels/{channel}     a channel's hourly statistics and its videos' launches (+ /api/...)

Every page's tables also come as CSV: ``?format=csv`` (the video page: ``&table=observations``
or ``launch``).

GET (and HEAD) only. Every query parameter is checked: unknown or repeated names and bad
values get a 400 page saying what is accepted; an untracked video gets a 404. Rejected input
is echoed at most ``MAX_ECHO`` characters. Pages carry no script at all (the CSP forbids it).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from ytmetrics_dagster.surfaces import results
from ytmetrics_dagster.surfaces.api.app import PREFIX as API_PREFIX
from ytmetrics_dagster.surfaces.api.app import alert_line, create_api
from ytmetrics_dagster.surfaces.dashboard import channel_page, compare, csv_export, views
from ytmetrics_dagster.surfaces.dashboard.charts import utc_label
from ytmetrics_dagster.surfaces.dashboard.metrics import metrics
from ytmetrics_dagster.surfaces.inputs import (
    AGE_DAYS,
    COMPARE_VIDEOS,
    DAYS,
    ECHO_LIMIT,
    PAGE,
    PER_PAGE,
    Bound,
    search_problem,
)
from ytmetrics_dagster.warehouse.growth_list import GROWTH_SORTS
from ytmetrics_dagster.warehouse.read_limits import InvalidQueryError
from ytmetrics_dagster.warehouse.video_listing import VIDEO_SORTS
from ytmetrics_dagster.warehouse.videos import VIDEO_STATUSES, UnknownVideoError
from ytmetrics_dagster.youtube.ids import (
    CHANNEL_ID_RE,
    InvalidVideoInput,
    is_video_id,
    parse_video_id,
)

log = logging.getLogger(__name__)

MAX_ECHO = ECHO_LIMIT
LIST_PARAMS = ("q", "status", "channel", "sort", "order", "page", "per_page", "format")
VIDEO_PARAMS = ("days", "format", "table")
VIDEO_TABLES = ("observations", "launch")
DEFAULT_DAYS = 7
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def shown(raw: str) -> str:
    """Rejected input as echoed back: at most MAX_ECHO characters."""
    return raw if len(raw) <= MAX_ECHO else raw[:MAX_ECHO] + "…"


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


# --- templates -----------------------------------------------------------------------------


def _num(value, empty: str = "—", decimals: int = 0) -> str:
    return empty if value is None else f"{value:,.{decimals}f}"


_templates = Environment(
    loader=PackageLoader("ytmetrics_dagster.surfaces.dashboard", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["num"] = _num
_templates.filters["utc"] = lambda value: utc_label(value) if value is not None else "—"


def _html(template: str, status_code: int = 200, **context) -> HTMLResponse:
    context.setdefault("alert_line", None)
    body = _templates.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status_code, headers=HEADERS)


def _json(data: results.Result, status: int = 200) -> JSONResponse:
    """A result model as its JSON: a page's, or an error's (``results.Error``, as the API's)."""
    return JSONResponse(data.json_dict(), status_code=status, headers=HEADERS)


# --- parameters ----------------------------------------------------------------------------


def _params(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise bad_request(
                f"unknown query parameter {shown(name)!r}; valid: {', '.join(allowed) or 'none'}"
            )
        if name in seen:
            raise bad_request(f"query parameter {name!r} is given more than once")
        seen[name] = value
    return seen


def _int(raw: str | None, bound: Bound, default: int) -> int:
    if raw is None or raw == "":
        return default
    # the rule and its wording are the CLI's and the MCP server's (surfaces.inputs)
    try:
        return bound.parse(raw)
    except ValueError as err:
        raise bad_request(str(err)) from None


def _choice(raw: str | None, name: str, choices, default):
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise bad_request(
            f"invalid {name} {shown(raw)!r}; valid: {', '.join(str(c) for c in choices)}"
        )
    return raw


def _search(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    problem = search_problem(text)
    if problem is not None:
        raise bad_request(f"{problem}: {shown(text)!r}")
    if not is_video_id(text) and ("/" in text or "." in text):
        # A pasted video URL searches for its id.
        try:
            return parse_video_id(text)
        except InvalidVideoInput:
            pass
    return text


def list_query(request: Request) -> views.ListQuery:
    p = _params(request, LIST_PARAMS)
    channel = p.get("channel") or None
    if channel is not None and not CHANNEL_ID_RE.match(channel):
        raise bad_request(
            f"channel must be a channel id (UC + 22 characters), got {shown(channel)!r}"
        )
    per_page = _int(p.get("per_page"), PER_PAGE, views.PER_PAGE)
    return views.ListQuery(
        search=_search(p.get("q")),
        status=_choice(p.get("status"), "status", (*VIDEO_STATUSES, "all"), "active"),
        channel_id=channel,
        sort=_choice(p.get("sort"), "sort", (*VIDEO_SORTS, *GROWTH_SORTS), "added"),
        order=_choice(p.get("order"), "order", ("asc", "desc"), "desc"),
        page=_int(p.get("page"), PAGE, 1),
        per_page=per_page,
    )


def _video_ref(request: Request) -> tuple[str, bool]:
    """(video id, canonical?) from the path: a bare id, or any video URL form
    (``/videos/https://youtu.be/ID``), whose own query string belongs to it."""
    ref = request.path_params["ref"]
    if is_video_id(ref):
        return ref, True
    # Some clients squeeze "https://" in a path down to "https:/".
    ref = re.sub(r"^(https?):/(?!/)", r"\1://", ref)
    raw = ref + (f"?{request.url.query}" if request.url.query else "")
    try:
        return parse_video_id(raw), False
    except InvalidVideoInput as err:
        raise bad_request(shown(str(err))) from None


# --- routes --------------------------------------------------------------------------------


def _list_url(query: views.ListQuery, prefix: str = "/"):
    def url(**changes) -> str:
        params = query.as_params(**changes)
        return prefix + (f"?{urlencode(params)}" if params else "")

    return url


def _format(request: Request) -> str:
    return _choice(request.query_params.get("format"), "format", csv_export.FORMATS, "html")


def index(request: Request) -> Response:
    query = list_query(request)
    listing = views.video_list(request.app.state.engine, query)
    if _format(request) == "csv":
        typed = results.ListPage.model_validate(listing).json_dict()
        return csv_export.csv_response(
            typed["videos"], csv_export.LIST_COLUMNS, "videos.csv", HEADERS
        )
    list_url = _list_url(query)

    def sort_url(key: str) -> str:
        ascending_first = key in ("title", "channel")
        if query.sort == key:
            order = "asc" if query.order == "desc" else "desc"
        else:
            order = "asc" if ascending_first else "desc"
        return list_url(sort=key, order=order, page=1)

    current = query.as_params()
    return _html(
        "index.html",
        alert_line=alert_line(request.app.state.engine),
        query=query,
        listing=listing,
        simulated=listing["simulated"],
        statuses=(*VIDEO_STATUSES, "all"),
        per_page_choices=views.PER_PAGE_CHOICES,
        sparklines=views.list_sparklines(listing),
        columns=(
            ("title", "Title", ""),
            ("gained_24h", "Views gained 24 h", "num"),
            ("views_per_hour", "Views/hour now", "num"),
            (None, "Last 7 days", ""),
            ("channel", "Channel", ""),
            ("published", "Published (UTC)", ""),
            (None, "Status", ""),
            ("views", "Latest views", "num"),
            ("observed", "Last observed (UTC)", ""),
            ("added", "Added (UTC)", ""),
        ),
        list_url=list_url,
        sort_url=sort_url,
        current_qs=f"?{urlencode(current)}" if current else "",
        csv_url=list_url() + ("&" if current else "?") + "format=csv",
    )


def api_list(request: Request) -> Response:
    listing = views.video_list(request.app.state.engine, list_query(request))
    return _json(results.ListPage.model_validate(listing))


def _video_request(request: Request, prefix: str) -> tuple[str, int] | Response:
    video_id, canonical = _video_ref(request)
    if not canonical:
        return RedirectResponse(f"{prefix}{video_id}", status_code=307, headers=HEADERS)
    days = _int(_params(request, VIDEO_PARAMS).get("days"), DAYS, DEFAULT_DAYS)
    return video_id, days


def _video_csv(request: Request, page: dict) -> Response:
    table = _choice(request.query_params.get("table"), "table", VIDEO_TABLES, "observations")
    typed = results.VideoPage.model_validate(page).json_dict()
    video_id = typed["video"]["video_id"]
    if table == "launch":
        return csv_export.csv_response(
            typed["launch_curve"], csv_export.LAUNCH_COLUMNS, f"{video_id}-launch.csv", HEADERS
        )
    return csv_export.csv_response(
        typed["observations"],
        csv_export.OBSERVATION_COLUMNS,
        f"{video_id}-observations.csv",
        HEADERS,
    )


def video(request: Request) -> Response:
    parsed = _video_request(request, "/videos/")
    if isinstance(parsed, Response):
        return parsed
    page = views.video_page(request.app.state.engine, *parsed)
    if _format(request) == "csv":
        return _video_csv(request, page)
    missing_growth = sum(1 for o in page["observations"] if not o["growth_computed"])
    return _html(
        "video.html",
        alert_line=alert_line(request.app.state.engine),
        page=page,
        charts=views.video_charts(page),
        simulated=page["simulated"],
        days_choices=sorted({*views.DAYS_CHOICES, page["window"]["days"]}),
        missing_growth=missing_growth,
    )


def api_video(request: Request) -> Response:
    parsed = _video_request(request, "/api/videos/")
    if isinstance(parsed, Response):
        return parsed
    page = views.video_page(request.app.state.engine, *parsed)
    return _json(results.VideoPage.model_validate(page))


COMPARE_PARAMS = ("videos", "q", "age_days", "days", "format", "table")
COMPARE_TABLES = ("by_age", "by_time", "videos")


def compare_query(request: Request) -> compare.CompareQuery:
    p = _params(request, COMPARE_PARAMS)
    ids: list[str] = []
    for raw in (p.get("videos") or "").split(","):
        raw = raw.strip()
        if not raw:
            continue
        try:
            vid = raw if is_video_id(raw) else parse_video_id(raw)
        except InvalidVideoInput as err:
            raise bad_request(shown(str(err))) from None
        if vid not in ids:
            ids.append(vid)
    if len(ids) > COMPARE_VIDEOS:
        raise bad_request(f"at most {COMPARE_VIDEOS} videos can be compared, got {len(ids)}")
    return compare.CompareQuery(
        video_ids=tuple(ids),
        search=_search(p.get("q")),
        age_days=_int(p.get("age_days"), AGE_DAYS, compare.AGE_DAYS_DEFAULT),
        days=_int(p.get("days"), DAYS, compare.CALENDAR_DAYS_DEFAULT),
    )


def compare_view(request: Request) -> Response:
    query = compare_query(request)
    page = compare.compare_page(request.app.state.engine, query)
    if _format(request) == "csv":
        table = _choice(request.query_params.get("table"), "table", COMPARE_TABLES, "by_age")
        typed = results.ComparePage.model_validate(page).json_dict()
        if table == "videos":
            rows, columns = typed["videos"], compare.VIDEO_CSV_COLUMNS
        else:
            rows, columns = compare.csv_rows(typed, table), compare.COMPARE_CSV_COLUMNS
        return csv_export.csv_response(rows, columns, f"compare-{table}.csv", HEADERS)
    return _html(
        "compare.html",
        page=page,
        query=query,
        charts=compare.compare_charts(page),
        simulated=page["simulated"],
    )


def api_compare(request: Request) -> Response:
    page = compare.compare_page(request.app.state.engine, compare_query(request))
    return _json(results.ComparePage.model_validate(page))


CHANNEL_PARAMS = ("days", "format", "table")
CHANNEL_TABLES = ("history", "videos", "launch")


def _channel_request(request: Request) -> tuple[str, int]:
    channel_id = request.path_params["channel_id"]
    if not CHANNEL_ID_RE.match(channel_id):
        raise bad_request(
            f"channel must be a channel id (UC + 22 characters), got {shown(channel_id)!r}"
        )
    days = _int(_params(request, CHANNEL_PARAMS).get("days"), DAYS, DEFAULT_DAYS)
    return channel_id, days


def channel_view(request: Request) -> Response:
    page = channel_page.channel_page(request.app.state.engine, *_channel_request(request))
    if _format(request) == "csv":
        table = _choice(request.query_params.get("table"), "table", CHANNEL_TABLES, "history")
        typed = results.ChannelPage.model_validate(page).json_dict()
        cid = typed["channel"]["channel_id"]
        if table == "history":
            rows, columns = typed["history"], channel_page.HISTORY_COLUMNS
        elif table == "videos":
            rows, columns = typed["videos"], channel_page.VIDEO_COLUMNS
        else:
            rows, columns = typed["launch_curves"], channel_page.LAUNCH_CURVE_COLUMNS
        return csv_export.csv_response(rows, columns, f"{cid}-{table}.csv", HEADERS)
    return _html(
        "channel.html",
        page=page,
        charts=channel_page.channel_charts(page),
        simulated=page["simulated"],
    )


def api_channel(request: Request) -> Response:
    page = channel_page.channel_page(request.app.state.engine, *_channel_request(request))
    return _json(results.ChannelPage.model_validate(page))


def _unknown_channel(request: Request, exc: channel_page.UnknownChannelError) -> Response:
    return _error(
        request,
        404,
        f"channel {exc.channel_id!r} is neither tracked nor the channel of a tracked video; "
        f"track it with `ytmetrics track-channel {exc.channel_id}`",
    )


# --- errors --------------------------------------------------------------------------------

_REASONS = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    500: "Server error",
    503: "Warehouse unavailable",
}


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return _json(results.Error(error=message, status=status), status)
    return _html(
        "error.html",
        status,
        status=status,
        reason=_REASONS.get(status, "Error"),
        message=message,
        simulated=False,
    )


def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no page at {shown(request.url.path)!r}: see the list of tracked videos at /"
    elif exc.status_code == 405:
        message = "this dashboard is read-only: only GET (and HEAD) requests are served"
    else:
        message = str(exc.detail)
    response = _error(request, exc.status_code, message)
    if exc.status_code == 405:
        response.headers["Allow"] = "GET, HEAD"
    return response


def _unknown_video(request: Request, exc: UnknownVideoError) -> Response:
    return _error(
        request,
        404,
        f"video {exc.video_id!r} is not tracked; register it with "
        f"`ytmetrics register {exc.video_id}` or search the tracked videos at /",
    )


def _invalid_query(request: Request, exc: InvalidQueryError) -> Response:
    return _error(request, 400, shown(str(exc)))


def _database_error(request: Request, exc: DBAPIError) -> Response:
    # The URL and driver message stay in the server log: they can name hosts and users.
    log.error("warehouse query failed: %s", exc.__class__.__name__, exc_info=exc)
    return _error(request, 503, "the warehouse database cannot be read right now; try again")


def _server_error(request: Request, exc: Exception) -> Response:
    log.error("dashboard error", exc_info=exc)
    return _error(request, 500, "something went wrong on the server; the error is logged")


def create_app(engine: Engine) -> Starlette:
    """The dashboard over ``engine``'s warehouse (read only: it never writes)."""
    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/videos/{ref:path}", video, methods=["GET"]),
            Route("/compare", compare_view, methods=["GET"]),
            Route("/channels/{channel_id}", channel_view, methods=["GET"]),
            Route("/api/channels/{channel_id}", api_channel, methods=["GET"]),
            Route("/api/compare", api_compare, methods=["GET"]),
            Route("/api/videos", api_list, methods=["GET"]),
            Route("/api/videos/{ref:path}", api_video, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            # the HTTP API (reads and token-authenticated writes): ytmetrics_dagster.surfaces.api
            Mount(API_PREFIX, app=create_api(engine)),
        ],
        exception_handlers={
            HTTPException: _http_error,
            UnknownVideoError: _unknown_video,
            channel_page.UnknownChannelError: _unknown_channel,
            InvalidQueryError: _invalid_query,
            DBAPIError: _database_error,
            500: _server_error,
        },
    )
    app.state.engine = engine
    return app
