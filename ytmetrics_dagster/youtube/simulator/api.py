"""The simulated API methods: a request's query in, (HTTP status, JSON body) out.

Parameters are read the way the API reads them: a repeated parameter (``id``, ``part``) may
come comma-separated, repeated (``id=a&id=b``, what Google's own client sends) or both; every
request, invalid ones included, costs its quota unit (documented: "all API requests,
including invalid requests, incur a quota cost of at least one point"); ``part`` selects the
resource parts; ``fields`` trims the answer (``fields.py``).

Extension (simulator only): ``asOf=<ISO time>`` answers videos.list and videos:batchGetStats as
of a past time, so demo backfills can run. The real API has no such thing.
"""

from __future__ import annotations

import json
from datetime import datetime

from ytmetrics_dagster.youtube.simulator import errors, fields, representations
from ytmetrics_dagster.youtube.simulator.errors import FAULTS, error_body
from ytmetrics_dagster.youtube.simulator.schema import METHODS
from ytmetrics_dagster.youtube.simulator.state import SimulatorState
from ytmetrics_dagster.youtube.simulator.world import CHANNEL_COUNT

MAX_IDS = 50
BATCH_GET_STATS = "videos:batchGetStats"

Query = dict[str, list[str]]


class ApiError(Exception):
    def __init__(self, answer: tuple[int, bytes]):
        super().__init__(answer[0])
        self.answer = answer


def _single(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _multi(query: Query, name: str) -> list[str]:
    """Every value of a repeated parameter, whether comma-joined, repeated, or both."""
    return [v.strip() for raw in query.get(name, []) for v in raw.split(",") if v.strip()]


def _max_results(query: Query, default: int, minimum: int, maximum: int = 50) -> int:
    raw = _single(query, "maxResults")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(errors.invalid_parameter("maxResults", f"Invalid value '{raw}'.")) from None
    if not minimum <= value <= maximum:
        raise ApiError(
            errors.invalid_parameter(
                "maxResults",
                f"Invalid value '{raw}'. Values must be within the range: [{minimum}, {maximum}]",
            )
        )
    return value


def _no_filter(expected: str) -> ApiError:
    return ApiError(
        (
            400,
            error_body(
                400,
                "missingRequiredParameter",
                f"No filter selected. Expected one of: {expected}",
                "youtube.parameter",
            ),
        )
    )


def _as_of(state: SimulatorState, query: Query) -> datetime:
    now = state.now()
    raw = _single(query, "asOf")
    if raw is None:
        return now
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or at > now:
        raise ApiError(
            errors.invalid_parameter("asOf", "asOf must be a past ISO time with offset.")
        )
    return at


def _video_ids(query: Query) -> list[str]:
    ids = _multi(query, "id")
    if len(ids) > MAX_IDS:
        raise ApiError(
            (
                400,
                error_body(
                    400,
                    "invalidFilters",
                    f"The request specifies more than {MAX_IDS} ids.",
                    "youtube.parameter",
                    location="id",
                ),
            )
        )
    return ids


def _videos(state: SimulatorState, query: Query, parts: set[str]) -> dict:
    ids = _video_ids(query)
    if not ids:
        raise _no_filter("chart, id, myRating")
    _max_results(query, 5, 1)
    at = _as_of(state, query)
    profiles = [state.world.profile(vid) for vid in ids]
    items = [representations.video(p, parts, at) for p in profiles if p.is_visible(at)]
    return representations.list_response("video", items, per_page=len(items))


def _batch_get_stats(state: SimulatorState, query: Query, parts: set[str]) -> dict:
    ids = _video_ids(query)
    if not ids:
        raise ApiError(errors.required_parameter("id"))
    at = _as_of(state, query)
    profiles = [state.world.profile(vid) for vid in ids]
    items = [representations.video_stat(p, parts, at) for p in profiles if p.is_visible(at)]
    body = {"kind": "youtube#batchGetStatsResponse", "etag": "", "items": items}
    body["etag"] = representations.etag(items)
    return body


def _channels(state: SimulatorState, query: Query, parts: set[str]) -> dict:
    per_page = _max_results(query, 5, 0)
    if "id" in query:
        wanted = _multi(query, "id")
    elif "forHandle" in query:
        # handles are case-insensitive
        wanted = ["@" + (_single(query, "forHandle") or "").lstrip("@").lower()]
    elif "forUsername" in query:
        wanted = []  # the simulated channels have handles, no legacy usernames
    else:
        raise _no_filter("forUsername, managedByMe, categoryId, mine, mySubscribers, id, forHandle")
    at = _as_of(state, query)
    indexes = [state.world.channel_index(name) for name in wanted]
    items = [representations.channel(state.world, i, parts, at) for i in indexes if i is not None]
    # Unknown channels: the API leaves ``items`` out altogether (not an empty list).
    return representations.list_response("channel", items, per_page=per_page, omit_empty_items=True)


def _playlist_not_found() -> ApiError:
    message = (
        "The playlist identified with the request's <code>playlistId</code> parameter "
        "cannot be found."
    )
    return ApiError(
        (
            404,
            error_body(
                404, "playlistNotFound", message, "youtube.playlistItem", location="playlistId"
            ),
        )
    )


def _uploads_index(state: SimulatorState, playlist_id: str) -> int | None:
    if not playlist_id.startswith("UU"):
        return None
    index = state.world.channel_index("UC" + playlist_id[2:])
    return index if index is not None and index < CHANNEL_COUNT else None


def _playlist_items(state: SimulatorState, query: Query, parts: set[str]) -> dict:
    size = _max_results(query, 5, 0)
    at = state.now()
    playlist_id = _single(query, "playlistId")
    if playlist_id is None:
        if "id" not in query:
            raise _no_filter("id, playlistId")
        return _playlist_items_by_id(state, _multi(query, "id"), parts, size, at)
    index = _uploads_index(state, playlist_id)
    if index is None:
        raise _playlist_not_found()
    offset = 0
    token = _single(query, "pageToken")
    if token:
        decoded = representations.page_offset(token)
        if decoded is None:
            raise ApiError(
                (
                    400,
                    error_body(
                        400,
                        "invalidPageToken",
                        "The request specifies an invalid page token.",
                        "youtube.parameter",
                        location="pageToken",
                    ),
                )
            )
        offset = decoded
    uploads = state.world.uploads(index, at)
    items = [
        representations.playlist_item(p, index, offset + n, parts)
        for n, p in enumerate(uploads[offset : offset + size])
    ]
    # A zero-sized page makes no progress: answering it with a next page token would send a
    # client that follows tokens round forever, so maxResults=0 only reports the total.
    more = size > 0 and offset + size < len(uploads)
    return representations.list_response(
        "playlistItem",
        items,
        per_page=size,
        total=len(uploads),
        next_token=representations.page_token(offset + size) if more else None,
        prev_token=representations.page_token(max(0, offset - size)) if offset and size else None,
    )


def _playlist_items_by_id(
    state: SimulatorState, item_ids: list[str], parts: set[str], size: int, at: datetime
) -> dict:
    items = []
    for item_id in item_ids:
        decoded = representations.parse_playlist_item_id(item_id)
        index = _uploads_index(state, decoded[0]) if decoded else None
        if index is None:
            continue
        uploads = state.world.uploads(index, at)
        position = next((n for n, p in enumerate(uploads) if p.video_id == decoded[1]), None)
        if position is not None:
            items.append(representations.playlist_item(uploads[position], index, position, parts))
    return representations.list_response("playlistItem", items, per_page=size)


_HANDLERS = {
    "videos": _videos,
    BATCH_GET_STATS: _batch_get_stats,
    "channels": _channels,
    "playlistItems": _playlist_items,
}


def _parts(query: Query, allowed: frozenset[str]) -> set[str]:
    parts = _multi(query, "part")
    if not parts:
        raise ApiError(errors.required_parameter("part"))
    unknown = [p for p in parts if p not in allowed]
    if unknown:
        raise ApiError(errors.unknown_part(unknown[0]))
    return set(parts)


def _selection(query: Query, names: dict) -> fields.Selection | None:
    raw = _single(query, "fields")
    if not raw:
        return None
    try:
        selection = fields.parse(raw)
        fields.validate(selection, names)
    except fields.FieldSelectionError as err:
        raise ApiError(errors.invalid_fields(str(err))) from None
    return selection


def is_method(method: str) -> bool:
    return method in _HANDLERS


def answer(state: SimulatorState, method: str, query: Query) -> tuple[int, bytes]:
    """Answer one call of a simulated method (``is_method(method)`` must hold)."""
    _schema_name, names, allowed_parts = METHODS[method]
    if not state.charge(1, "batchGetStats" if method == BATCH_GET_STATS else "default"):
        return FAULTS["quotaExceeded"]
    try:
        parts = _parts(query, allowed_parts)
        selection = _selection(query, names)
        body = _HANDLERS[method](state, query, parts)
    except ApiError as err:
        return err.answer
    if selection is not None:
        body = fields.apply(body, selection)
    # Like the API: pretty-printed unless the caller asks for prettyPrint=false.
    if (_single(query, "prettyPrint") or "true").lower() == "false":
        return 200, json.dumps(body, separators=(",", ":")).encode()
    return 200, json.dumps(body, indent=2).encode()
