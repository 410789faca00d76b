"""Parsing tested on real recorded API responses (see fixtures/youtube/PROVENANCE.md)."""

import json
import re
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ytmetrics_dagster.youtube.errors import (
    AccessDeniedError,
    BadRequestError,
    KeyInvalidError,
    QuotaExceededError,
    RateLimitedError,
    YouTubeUnavailableError,
    error_from_response,
    redact,
)
from ytmetrics_dagster.youtube.parsing import parse_duration, parse_statistics, parse_video_details

from .conftest import FIXTURES

pytestmark = pytest.mark.unit


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_video_details_from_recorded_response():
    items = load("video_response_1.json")["items"]
    first = parse_video_details(items[0])
    assert first.video_id == "Ks-_Mh1QhMc"
    assert first.channel_id == "UCAuUUnT6oDeKwE6v1NGQxug"
    assert first.published_at == datetime(2012, 10, 1, 15, 27, 35, tzinfo=UTC)
    assert first.duration_seconds == 21 * 60 + 3
    assert first.statistics.view_count == 23278951
    assert first.statistics.like_count == 391633
    assert first.statistics.comment_count == 9518
    assert parse_video_details(items[1]).duration_seconds == 90


def test_absent_like_and_comment_counts_are_none_not_zero():
    item = {"id": "Ks-_Mh1QhMc", "statistics": {"viewCount": "10", "favoriteCount": "0"}}
    stats = parse_statistics(item)
    assert stats.view_count == 10
    assert stats.like_count is None
    assert stats.comment_count is None


def test_missing_view_count_is_an_error_not_a_zero():
    with pytest.raises(ValueError):
        parse_statistics({"id": "Ks-_Mh1QhMc", "statistics": {}})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT21M3S", 1263),
        ("PT1H", 3600),
        ("P1DT2H3M4S", 93784),
        ("P0D", 0),
        ("PT59S", 59),
        ("bogus", None),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("name", "status", "kind", "reason"),
    [
        ("quota_exceeded.json", 403, QuotaExceededError, "quotaExceeded"),
        ("error_response.json", 400, KeyInvalidError, "keyInvalid"),
        ("youtube_not_activated.json", 403, AccessDeniedError, "accessNotConfigured"),
        ("error_permission_resp.json", 403, AccessDeniedError, "SERVICE_UNAVAILABLE"),
    ],
)
def test_recorded_errors_map_to_actionable_exceptions(name, status, kind, reason):
    error = error_from_response(status, (FIXTURES / name).read_text())
    assert isinstance(error, kind)
    assert error.reason == reason
    assert error.status == status


def test_quota_error_says_when_it_resets():
    error = error_from_response(403, (FIXTURES / "quota_exceeded.json").read_text())
    assert "midnight Pacific" in str(error)


def test_html_error_bodies_and_rate_limits():
    assert isinstance(error_from_response(502, "<html>Bad Gateway</html>"), YouTubeUnavailableError)
    assert isinstance(error_from_response(429, "{}"), RateLimitedError)


def test_secret_is_redacted_from_error_messages():
    body = json.dumps(
        {
            "error": {
                "code": 400,
                "message": "key SECRET123 is bad",
                "errors": [{"reason": "keyInvalid"}],
            }
        }
    )
    error = error_from_response(400, body, secret="SECRET123")
    assert "SECRET123" not in str(error)


# What the API answers to a made-up key today (as captured in public projects' tests, e.g.
# a videos.list call with a junk key): errors[] only says badRequest; the key problem is in
# the google.rpc.ErrorInfo of details[].
KEY_INVALID_TODAY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "errors": [
            {
                "message": "API key not valid. Please pass a valid API key.",
                "domain": "global",
                "reason": "badRequest",
            }
        ],
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": "API key not valid. Please pass a valid API key.",
            },
        ],
    }
}


def test_todays_invalid_key_answer_is_an_invalid_key_not_a_bad_request():
    error = error_from_response(400, json.dumps(KEY_INVALID_TODAY))
    assert isinstance(error, KeyInvalidError)
    assert error.reason == "API_KEY_INVALID"
    assert "YOUTUBE_API_KEY" in str(error)
    assert "badRequest, API_KEY_INVALID" in str(error)


@pytest.mark.parametrize(
    ("details_reason", "status", "kind"),
    [
        ("API_KEY_INVALID", 400, KeyInvalidError),
        ("SERVICE_DISABLED", 403, AccessDeniedError),
        ("API_KEY_SERVICE_BLOCKED", 403, AccessDeniedError),
        ("RATE_LIMIT_EXCEEDED", 429, RateLimitedError),
    ],
)
def test_classification_reads_error_info_details_alone(details_reason, status, kind):
    body = {
        "error": {
            "code": status,
            "message": "m",
            "status": "X",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": details_reason}
            ],
        }
    }
    error = error_from_response(status, json.dumps(body))
    assert isinstance(error, kind)
    assert error.reason == details_reason


def test_a_plain_bad_request_stays_a_bad_request():
    body = {"error": {"code": 400, "message": "'bogus'", "errors": [{"reason": "unknownPart"}]}}
    error = error_from_response(400, json.dumps(body))
    assert isinstance(error, BadRequestError) and error.reason == "unknownPart"


KEY = "AIzaSy-Te st/Key+0123456789_abcdefghij"


def spellings(key: str) -> list[str]:
    return [
        key,
        key.upper(),
        key.lower(),
        key.swapcase(),
        quote(key, safe=""),
        quote_plus(key),
        quote(key, safe="").lower(),
        "".join(f"%{b:02X}" for b in key.encode()),
        "".join(f"%{b:02x}" for b in key.encode()),
    ]


def assert_no_key(text: str, key: str = KEY) -> None:
    lowered = text.lower()
    for spelling in spellings(key):
        assert spelling.lower() not in lowered, spelling


@pytest.mark.parametrize("spelling", spellings(KEY))
def test_the_key_is_redacted_from_every_field_in_any_spelling(spelling):
    body = {
        "error": {
            "code": 400,
            "message": f"key {spelling} is bad",
            "errors": [{"reason": f"badRequest:{spelling}", "message": spelling}],
            "status": spelling,
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": spelling},
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "message": spelling},
            ],
        }
    }
    error = error_from_response(400, json.dumps(body), secret=KEY)
    assert_no_key(str(error))
    assert_no_key(error.reason)
    assert "[REDACTED]" in str(error)


@pytest.mark.parametrize(
    "disguise",
    [
        lambda k: quote(quote(k, safe=""), safe=""),  # encoded twice
        lambda k: "".join(f"&#{ord(c)};" for c in k),  # HTML entities
        lambda k: "".join(f"\\u{ord(c):04x}" for c in k),  # JSON escapes, kept literal
        lambda k: k[:10] + "\n" + k[10:],  # split by a control character
        lambda k: k[:10] + ";" + k[10:],  # split by a character a sanitizer replaces
        lambda k: " ".join(k),  # spaced out
    ],
)
def test_a_key_that_survives_redaction_in_disguise_is_withheld(disguise):
    hidden = disguise(KEY)
    body = {"error": {"code": 400, "message": f"x {hidden} y", "errors": [{"reason": hidden}]}}
    error = error_from_response(400, json.dumps(body), secret=KEY)
    assert "withheld" in str(error)
    assert error.reason == "[REDACTED]"
    assert_no_key(str(error))


@pytest.mark.parametrize(
    "body",
    [
        f"<html><body>key={KEY}</body></html>",
        f"<html><body>key={quote(KEY, safe='')}</body></html>",
        f"<html><body>key=&#{ord(KEY[0])};{KEY[1:]}</body></html>",
        "<html><body>key=\\u0041" + KEY[1:] + "</body></html>",
        f"upstream said: {KEY.upper()}",
    ],
)
def test_non_json_bodies_are_redacted_too(body):
    error = error_from_response(502, body, secret=KEY)
    assert isinstance(error, YouTubeUnavailableError)
    assert "non-JSON error body" in str(error)
    assert_no_key(str(error))


def test_server_written_reasons_and_messages_are_bounded_and_one_line():
    body = {
        "error": {
            "code": 400,
            "message": "line one\nFAKE LOG LINE\r\x1b[31m" + "x" * 5000,
            "errors": [{"reason": "weird reason; DROP TABLE\n" + "y" * 500}],
        }
    }
    error = error_from_response(400, json.dumps(body))
    assert re.fullmatch(r"[A-Za-z0-9_.:\[\]-]{1,64}", error.reason)
    assert "\n" not in str(error) and "\r" not in str(error) and "\x1b" not in str(error)
    assert len(str(error)) < 600


@given(
    key=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=48
    ),
    transform=st.sampled_from(
        [str.upper, str.lower, str.swapcase, lambda k: quote(k, safe=""), quote_plus]
    ),
)
def test_redaction_holds_for_any_key_and_spelling(key, transform):
    redacted = redact(f"a {transform(key)} b", key)
    assert transform(key) not in redacted
    assert key.lower() not in redacted.lower()


def test_batch_get_stats_counts_as_numbers_or_strings():
    item = {
        "kind": "youtube#videoStats",
        "id": "Ks-_Mh1QhMc",
        "statistics": {"viewCount": 12, "likeCount": "3"},
    }
    stats = parse_statistics(item)
    assert (stats.view_count, stats.like_count, stats.comment_count) == (12, 3, None)
