"""Parsing tested on real recorded API responses (see fixtures/youtube/PROVENANCE.md)."""

import json
from datetime import UTC, datetime

import pytest

from ytmetrics_dagster.youtube.errors import (
    AccessDeniedError,
    KeyInvalidError,
    QuotaExceededError,
    RateLimitedError,
    YouTubeUnavailableError,
    error_from_response,
)
from ytmetrics_dagster.youtube.parsing import parse_duration, parse_statistics, parse_video_details

from .conftest import FIXTURES


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


def test_batch_get_stats_counts_as_numbers_or_strings():
    item = {
        "kind": "youtube#videoStats",
        "id": "Ks-_Mh1QhMc",
        "statistics": {"viewCount": 12, "likeCount": "3"},
    }
    stats = parse_statistics(item)
    assert (stats.view_count, stats.like_count, stats.comment_count) == (12, 3, None)
