"""The simulator as Google's own client sees it.

Google's ``google-api-python-client`` is built from the youtube v3 discovery document bundled
in the package (static discovery, nothing fetched) and pointed at the simulator served on
127.0.0.1. Every answer is checked against that document's JSON schemas: no property the API
does not have, every value of its declared type (counters are strings of digits, times RFC
3339), plus the keys the API always sends. Error bodies are checked against the envelope
Google's client parses.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from datetime import datetime

import pytest
import requests
from googleapiclient.discovery import build
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError

from ytmetrics_dagster.youtube.client import (
    CHANNEL_FIELDS,
    DETAILS_FIELDS,
    PLAYLIST_FIELDS,
    STATISTICS_FIELDS,
    YouTubeClient,
)
from ytmetrics_dagster.youtube.ids import ChannelRef
from ytmetrics_dagster.youtube.simulator import fields as field_selection
from ytmetrics_dagster.youtube.simulator.schema import ANY, METHODS
from ytmetrics_dagster.youtube.simulator.world import channel_handle, channel_id

from .helpers import CATALOG, comments_off_id, hidden_likes_id, nonexistent_id, normal_ids

pytestmark = pytest.mark.db

DISCOVERY = json.loads(get_static_doc("youtube", "v3"))
SCHEMAS = DISCOVERY["schemas"]
RESOURCE_METHODS = {
    "videos": DISCOVERY["resources"]["videos"]["methods"]["list"],
    "videos:batchGetStats": DISCOVERY["resources"]["videos"]["methods"]["batchGetStats"],
    "channels": DISCOVERY["resources"]["channels"]["methods"]["list"],
    "playlistItems": DISCOVERY["resources"]["playlistItems"]["methods"]["list"],
}
CHANNEL = 3
UPLOADS = "UU" + channel_id(CHANNEL)[2:]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Google's client must not reach the internet: connections to non-loopback addresses
    are refused and recorded (recorded too, since a library may swallow the refusal)."""
    connect = socket.socket.connect
    refused: list[str] = []

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not ipaddress.ip_address(host).is_loopback:
                refused.append(host)
                raise ConnectionRefusedError(f"test refused a connection to {host}")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield
    assert not refused, f"tried to reach {refused}"


@pytest.fixture
def youtube(simulator):
    service = build(
        "youtube",
        "v3",
        developerKey="sim-fidelity-key",
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": simulator.root_url},
    )
    yield service
    service.close()


# -- a validator over the discovery document's schema format ------------------------------

_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_DIGITS = re.compile(r"^(0|[1-9]\d*)$")
_FORMATS = {
    "int64": _DIGITS,
    "uint64": _DIGITS,
    "date-time": _RFC3339,
    "google-datetime": _RFC3339,
    "google-duration": re.compile(r"^\d+(\.\d+)?s$"),
}


def validate(value, schema: dict, path: str = "$") -> None:
    """Raise AssertionError where ``value`` breaks the discovery ``schema``: an unknown
    property, a wrong JSON type, a string not in its format or enum."""
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), f"{path}: {value!r} is not an object"
        properties = schema.get("properties")
        if properties is not None:
            unknown = set(value) - set(properties)
            assert not unknown, f"{path}: properties the API does not have: {sorted(unknown)}"
            for key, child in value.items():
                validate(child, properties[key], f"{path}.{key}")
        elif "additionalProperties" in schema:
            for key, child in value.items():
                validate(child, schema["additionalProperties"], f"{path}.{key}")
    elif kind == "array":
        assert isinstance(value, list), f"{path}: {value!r} is not an array"
        for n, child in enumerate(value):
            validate(child, schema["items"], f"{path}[{n}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: {value!r} is not a string"
        pattern = _FORMATS.get(schema.get("format"))
        assert pattern is None or pattern.match(value), f"{path}: {value!r} not {schema['format']}"
        assert "enum" not in schema or value in schema["enum"], f"{path}: {value!r} not in enum"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: {value!r} is not a boolean"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), path


def validate_answer(method: str, body: dict, *, full: bool) -> None:
    """Against the method's response schema; ``full`` (no ``fields``) also requires the keys
    the API always sends (as in the recorded responses)."""
    validate(body, RESOURCE_METHODS[method]["response"])
    if full:
        assert {"kind", "etag"} <= set(body)
        if method != "channels":
            assert "items" in body  # channels.list leaves it out when nothing matched
        if method != "videos:batchGetStats":
            assert "pageInfo" in body
        for item in body.get("items", []):
            assert {"kind", "etag", "id"} <= set(item), item
            assert re.fullmatch(r"[A-Za-z0-9_-]{27}", item["etag"])


def validate_error(content: bytes, status: int) -> dict:
    """The error envelope Google's client parses: code, message, errors[] (message, domain,
    reason), optional status and typed details."""
    error = json.loads(content)["error"]
    assert error["code"] == status and isinstance(error["message"], str)
    assert set(error) <= {"code", "message", "errors", "status", "details"}
    for entry in error["errors"]:
        assert {"message", "domain", "reason"} <= set(entry)
        assert set(entry) <= {
            "message",
            "domain",
            "reason",
            "location",
            "locationType",
            "extendedHelp",
        }
    for detail in error.get("details", []):
        assert detail["@type"].startswith("type.googleapis.com/google.rpc.")
    return error


# -- the simulator's schema knowledge matches the discovery document --------------------


def _walk(schema: dict) -> dict | None:
    """The properties of an object (or of an array's items), or None for a scalar."""
    while True:
        if "$ref" in schema:
            schema = SCHEMAS[schema["$ref"]]
        elif schema.get("type") == "array":
            schema = schema["items"]
        else:
            break
    if schema.get("type") != "object":
        return None
    return schema.get("properties", {})


def _compare(tree: dict, properties: dict, path: str) -> None:
    assert set(tree) == set(properties), f"{path}: {set(tree) ^ set(properties)}"
    for key, node in tree.items():
        children = _walk(properties[key])
        if node is None:
            assert children is None, f"{path}.{key} is an object in the API"
        elif node != ANY:
            assert children is not None, f"{path}.{key} is a scalar in the API"
            _compare(node, children, f"{path}.{key}")


@pytest.mark.unit
@pytest.mark.parametrize("method", sorted(METHODS))
def test_the_simulators_field_names_and_parts_are_the_apis(method):
    schema_name, tree, parts = METHODS[method]
    assert RESOURCE_METHODS[method]["response"] == {"$ref": schema_name}
    _compare(tree, SCHEMAS[schema_name]["properties"], schema_name)
    item_properties = _walk(SCHEMAS[schema_name]["properties"]["items"])
    assert parts <= set(item_properties)
    assert RESOURCE_METHODS[method]["parameters"]["part"]["repeated"]
    assert RESOURCE_METHODS[method]["parameters"]["id"]["repeated"]


# -- videos.list and videos:batchGetStats -----------------------------------------------


def test_videos_list_ids_comma_joined_or_repeated(youtube):
    ids = [*normal_ids(3), hidden_likes_id(), comments_off_id(), nonexistent_id()]
    part = "snippet,contentDetails,statistics,status"
    joined = youtube.videos().list(part=part, id=",".join(ids)).execute()
    repeated = youtube.videos().list(part=part.split(","), id=ids).execute()
    mixed = youtube.videos().list(part=part, id=[",".join(ids[:3]), *ids[3:]]).execute()
    assert joined == repeated == mixed
    validate_answer("videos", joined, full=True)
    assert [item["id"] for item in joined["items"]] == ids[:5]  # the ghost is silently absent
    assert joined["pageInfo"] == {"totalResults": 5, "resultsPerPage": 5}
    stats = {item["id"]: item["statistics"] for item in joined["items"]}
    assert "likeCount" not in stats[hidden_likes_id()]
    assert "commentCount" not in stats[comments_off_id()]
    assert stats[ids[0]]["favoriteCount"] == "0"


@pytest.mark.parametrize("part", ["id", "snippet", "contentDetails", "statistics", "status"])
def test_videos_list_answers_exactly_the_parts_asked(youtube, part):
    body = youtube.videos().list(part=part, id=normal_ids(2)).execute()
    validate_answer("videos", body, full=True)
    for item in body["items"]:
        assert set(item) == {"kind", "etag", "id"} | ({part} - {"id"})


def test_batch_get_stats_has_the_video_stat_shape(youtube):
    ids = [normal_ids(1)[0], hidden_likes_id()]
    body = (
        youtube.videos()
        .batchGetStats(part=["id", "snippet", "statistics", "contentDetails"], id=ids)
        .execute()
    )
    validate_answer("videos:batchGetStats", body, full=True)
    assert body["kind"] == "youtube#batchGetStatsResponse"
    first, hidden = body["items"]
    assert first["kind"] == "youtube#videoStats"
    assert set(first["statistics"]) == {"viewCount", "likeCount", "commentCount"}
    assert "favoriteCount" not in first["statistics"] and "likeCount" not in hidden["statistics"]
    profile = CATALOG.profile(ids[0])
    assert first["contentDetails"]["duration"] == f"{profile.duration_seconds}s"
    assert datetime.fromisoformat(first["snippet"]["publishTime"]) == profile.published_at


# -- channels.list ------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["id", "snippet", "contentDetails", "statistics", "status"])
def test_channels_list_honours_part_by_id_and_by_handle(youtube, simulator, part):
    simulator.state.now_override = datetime.fromisoformat("2024-04-01T00:00:00+00:00")
    by_id = youtube.channels().list(part=part, id=channel_id(CHANNEL)).execute()
    by_handle = youtube.channels().list(part=part, forHandle=channel_handle(CHANNEL)).execute()
    assert by_id["items"] == by_handle["items"]
    validate_answer("channels", by_id, full=True)
    (item,) = by_id["items"]
    assert set(item) == {"kind", "etag", "id"} | ({part} - {"id"})
    if part == "statistics":
        uploads = CATALOG.uploads(CHANNEL, simulator.state.now_override)
        assert int(item["statistics"]["videoCount"]) == len(uploads)
        assert int(item["statistics"]["viewCount"]) > 0
    if part == "contentDetails":
        assert item["contentDetails"]["relatedPlaylists"]["uploads"] == UPLOADS


def test_channels_list_several_ids_and_an_unknown_channel(youtube):
    ids = [channel_id(1), channel_id(2)]
    body = youtube.channels().list(part="snippet", id=ids).execute()
    assert [item["id"] for item in body["items"]] == ids
    assert body["pageInfo"] == {"totalResults": 2, "resultsPerPage": 5}
    nothing = youtube.channels().list(part="snippet", forHandle="@nobody-here").execute()
    validate_answer("channels", nothing, full=True)
    assert "items" not in nothing and nothing["pageInfo"]["totalResults"] == 0


# -- playlistItems.list: paging ---------------------------------------------------------


def _all_pages(youtube, max_results: int, **kwargs) -> tuple[list[dict], int]:
    playlist_items = youtube.playlistItems()
    request = playlist_items.list(
        part="id,snippet,contentDetails,status",
        playlistId=UPLOADS,
        maxResults=max_results,
        **kwargs,
    )
    items, pages = [], 0
    while request is not None:
        pages += 1
        assert pages <= 1000, "paging does not end"
        response = request.execute()
        validate_answer("playlistItems", response, full="fields" not in kwargs)
        items += response.get("items", [])
        request = playlist_items.list_next(request, response)
    return items, pages


@pytest.mark.parametrize("max_results", [50, 5])
def test_playlist_items_page_through_every_upload_exactly_once(youtube, simulator, max_results):
    simulator.state.now_override = datetime.fromisoformat("2024-04-01T00:00:00+00:00")
    expected = [p.video_id for p in CATALOG.uploads(CHANNEL, simulator.state.now_override)]
    items, pages = _all_pages(youtube, max_results)
    assert [item["contentDetails"]["videoId"] for item in items] == expected
    assert [item["snippet"]["position"] for item in items] == list(range(len(expected)))
    assert pages == -(-len(expected) // max_results)
    assert len({item["id"] for item in items}) == len(items)


def test_playlist_items_max_results_zero_reports_the_total_and_stops(youtube, simulator):
    simulator.state.now_override = datetime.fromisoformat("2024-04-01T00:00:00+00:00")
    items, pages = _all_pages(youtube, 0)
    assert (items, pages) == ([], 1)
    body = youtube.playlistItems().list(part="id", playlistId=UPLOADS, maxResults=0).execute()
    total = len(CATALOG.uploads(CHANNEL, simulator.state.now_override))
    assert body["pageInfo"] == {"totalResults": total, "resultsPerPage": 0}
    assert "nextPageToken" not in body


@pytest.mark.parametrize("max_results", [-1, 51])
def test_playlist_items_max_results_out_of_range_is_the_apis_400(youtube, max_results):
    with pytest.raises(HttpError) as info:
        youtube.playlistItems().list(
            part="id", playlistId=UPLOADS, maxResults=max_results
        ).execute()
    error = validate_error(info.value.content, 400)
    assert error["errors"][0]["reason"] == "invalidParameter"
    assert error["errors"][0]["location"] == "maxResults"


def test_playlist_items_by_id_and_bad_tokens(youtube, simulator):
    first = youtube.playlistItems().list(part="snippet", playlistId=UPLOADS).execute()
    ids = [item["id"] for item in first["items"]]
    by_id = youtube.playlistItems().list(part="snippet", id=ids).execute()
    validate_answer("playlistItems", by_id, full=True)
    assert by_id["items"] == first["items"]
    with pytest.raises(HttpError) as info:
        youtube.playlistItems().list(part="id", playlistId=UPLOADS, pageToken="50").execute()
    assert validate_error(info.value.content, 400)["errors"][0]["reason"] == "invalidPageToken"
    with pytest.raises(HttpError) as info:
        youtube.playlistItems().list(part="id", playlistId="UUnotachannel").execute()
    assert validate_error(info.value.content, 404)["errors"][0]["reason"] == "playlistNotFound"


# -- part and fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        (lambda yt: yt.videos().list(part="statistic", id="x"), "statistic"),
        (lambda yt: yt.channels().list(part=["snippet", "bogus"], id="x"), "bogus"),
        (lambda yt: yt.playlistItems().list(part="statistics", playlistId=UPLOADS), "statistics"),
        (lambda yt: yt.videos().batchGetStats(part="status", id="x"), "status"),
    ],
)
def test_unknown_parts_are_rejected_like_the_api(youtube, call, bad):
    with pytest.raises(HttpError) as info:
        call(youtube).execute()
    error = validate_error(info.value.content, 400)
    assert error["errors"][0] == {
        "message": f"'{bad}'",
        "domain": "youtube.part",
        "reason": "unknownPart",
        "location": "part",
        "locationType": "parameter",
    }


def test_the_pipelines_field_selections(youtube, simulator):
    ids = [normal_ids(1)[0], hidden_likes_id()]
    stats = youtube.videos().list(part="statistics", id=ids, fields=STATISTICS_FIELDS).execute()
    validate_answer("videos", stats, full=False)
    assert set(stats) == {"items"}
    assert all(set(item) == {"id", "statistics"} for item in stats["items"])
    assert set(stats["items"][0]["statistics"]) == {"viewCount", "likeCount", "commentCount"}
    assert set(stats["items"][1]["statistics"]) == {"viewCount", "commentCount"}

    details = (
        youtube.videos()
        .list(part="snippet,contentDetails,statistics", id=ids, fields=DETAILS_FIELDS)
        .execute()
    )
    validate_answer("videos", details, full=False)
    assert set(details["items"][0]["snippet"]) == {
        "title",
        "channelId",
        "channelTitle",
        "publishedAt",
    }
    assert set(details["items"][0]["contentDetails"]) == {"duration"}

    channel = (
        youtube.channels()
        .list(part="snippet,contentDetails", id=channel_id(CHANNEL), fields=CHANNEL_FIELDS)
        .execute()
    )
    assert channel == {
        "items": [
            {
                "id": channel_id(CHANNEL),
                "snippet": {
                    "title": f"Simulated Channel {CHANNEL:02d}",
                    "customUrl": channel_handle(CHANNEL),
                },
                "contentDetails": {"relatedPlaylists": {"uploads": UPLOADS}},
            }
        ]
    }

    simulator.state.now_override = datetime.fromisoformat("2024-04-01T00:00:00+00:00")
    items, pages = _all_pages(youtube, 50, fields=PLAYLIST_FIELDS)
    assert pages > 1
    assert all(set(item) == {"contentDetails"} for item in items)
    assert all(set(item["contentDetails"]) == {"videoId", "videoPublishedAt"} for item in items)


@pytest.mark.parametrize(
    ("selection", "expected_keys"),
    [
        ("items/id", {"items": [{"id"}]}),
        ("items(id),items/statistics/viewCount", {"items": [{"id", "statistics"}]}),
        ("kind,etag,pageInfo", {"kind": None, "etag": None, "pageInfo": None}),
        ("items(*)", {"items": [{"kind", "etag", "id", "statistics"}]}),
        ("*", {"kind": None, "etag": None, "items": None, "pageInfo": None}),
        ("items/statistics/*", {"items": [{"statistics"}]}),
    ],
)
def test_field_selection_syntax(youtube, selection, expected_keys):
    body = youtube.videos().list(part="statistics", id=normal_ids(1), fields=selection).execute()
    validate_answer("videos", body, full=False)
    assert set(body) == set(expected_keys)
    if isinstance(expected_keys.get("items"), list):
        assert set(body["items"][0]) == expected_keys["items"][0]


@pytest.mark.parametrize(
    ("selection", "offending"),
    [
        ("bogus", "bogus"),
        ("items(id,bogus)", "items/bogus"),
        ("items/statistics/viewCount/deeper", "items/statistics/viewCount/deeper"),
        ("items(id", "items(id"),
        ("items)", ")"),
        ("items(,id)", ","),
        ("items//id", "/"),
    ],
)
def test_an_invalid_field_selection_is_the_apis_400(youtube, selection, offending):
    with pytest.raises(HttpError) as info:
        youtube.videos().list(part="statistics", id=normal_ids(1), fields=selection).execute()
    error = validate_error(info.value.content, 400)
    assert error["errors"][0]["reason"] == "invalidParameter"
    assert error["errors"][0]["location"] == "fields"
    assert error["message"] == f"Invalid field selection {offending}"


@pytest.mark.unit
def test_field_selection_parser_merges_paths_and_groups():
    assert field_selection.parse("a/b,a(c,d/e),f") == {
        "a": {"b": None, "c": None, "d": {"e": None}},
        "f": None,
    }
    assert field_selection.parse("a(b),a") == {"a": None}


# -- errors, keys and quota -----------------------------------------------------------------


def test_error_envelopes_as_googles_client_sees_them(simulator):
    bad_key = build(
        "youtube",
        "v3",
        developerKey="INVALID-KEY",
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": simulator.root_url},
    )
    with pytest.raises(HttpError) as info:
        bad_key.videos().list(part="id", id="x").execute()
    error = validate_error(info.value.content, 400)
    assert info.value.reason == "API key not valid. Please pass a valid API key."
    assert (error["status"], error["errors"][0]["reason"]) == ("INVALID_ARGUMENT", "badRequest")
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    bad_key.close()

    for fault, status in [("accessNotConfigured", 403), ("quotaExceeded", 403), ("503", 503)]:
        simulator.state.script("videos", [fault])
        response = requests.get(
            simulator.base_url + "/videos", params={"part": "id", "id": "x"}, timeout=5
        )
        error = validate_error(response.content, status)
        if fault == "accessNotConfigured":
            info = [d for d in error["details"] if d["@type"].endswith("ErrorInfo")]
            assert info[0]["reason"] == "SERVICE_DISABLED"
            assert info[0]["metadata"]["service"] == "youtube.googleapis.com"
        if fault == "quotaExceeded":
            assert "status" not in error and error["errors"][0]["domain"] == "youtube.quota"


def test_invalid_requests_cost_a_quota_unit_too(youtube, simulator):
    before = simulator.state.units_used_today()
    with pytest.raises(HttpError):
        youtube.videos().list(part="bogus", id="x").execute()
    youtube.videos().list(part="id", id="x").execute()
    assert simulator.state.units_used_today() == before + 2


def test_the_pipelines_client_still_parses_every_answer(simulator):
    ids = [*normal_ids(3), hidden_likes_id(), nonexistent_id()]
    with YouTubeClient(simulator.base_url, backoff_factor=0.01) as c:
        assert len(c.video_statistics(ids).items) == 4
        assert len(c.video_statistics(ids, use_batch_get_stats=True).items) == 4
        assert len(c.video_details(ids).items) == 4
        channel = c.channel(ChannelRef(handle=channel_handle(CHANNEL)))
        assert channel.uploads_playlist_id == UPLOADS
        simulator.state.now_override = datetime.fromisoformat("2024-04-01T00:00:00+00:00")
        videos, token = c.playlist_page(UPLOADS)
        more, _ = c.playlist_page(UPLOADS, token)
    assert (
        len(videos) == 50 and more and not {v.video_id for v in videos} & {v.video_id for v in more}
    )


# -- one write per response --------------------------------------------------------------


def test_each_response_is_one_write_and_connections_are_kept_alive(simulator, monkeypatch):
    """Headers and body written apart make a kept-alive client wait for its own delayed ACK
    (Nagle): ~40 ms a call. Count the server's writes per response instead of timing them."""
    writes: list[int] = []  # the client's port, once per write the server makes
    sendall = socket.socket.sendall

    def counting(self, data, *args):
        if self.getsockname()[1] == simulator.port:  # the server's end of the connection
            writes.append(self.getpeername()[1])
        return sendall(self, data, *args)

    monkeypatch.setattr(socket.socket, "sendall", counting)
    with requests.Session() as session:
        for _ in range(20):
            response = session.get(
                simulator.base_url + "/videos",
                params={"part": "statistics", "id": ",".join(normal_ids(2))},
                timeout=5,
            )
            assert response.status_code == 200
    assert len(writes) == 20
    assert len(set(writes)) == 1  # one kept-alive connection served all 20
