"""The YouTube Data API's failures, as exceptions a caller can act on.

Messages never contain the API key: the key travels in a request header, never in a URL,
and ``redact`` scrubs it from any text that reaches an exception as a second line of defence.
"""

from __future__ import annotations

import json


class YouTubeError(RuntimeError):
    """Base class. ``reason`` is YouTube's machine-readable reason when there is one."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class QuotaExceededError(YouTubeError):
    """The project's daily quota is spent; it resets at midnight Pacific time."""


class KeyInvalidError(YouTubeError):
    """The API key is missing, malformed or revoked."""


class AccessDeniedError(YouTubeError):
    """The API is not enabled for the key's project, or the key may not call it."""


class RateLimitedError(YouTubeError):
    retryable = True


class YouTubeUnavailableError(YouTubeError):
    """5xx, timeouts, dropped connections or unreadable bodies, after retries."""

    retryable = True


class BadRequestError(YouTubeError):
    """A 400 other than keyInvalid: the request itself is wrong (a bug here, not there)."""


def redact(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "[REDACTED]")
    return text


def error_from_response(status: int, body: str, secret: str | None = None) -> YouTubeError:
    """Map an HTTP error response (JSON envelope or not) to the right exception."""
    reason = None
    message = ""
    try:
        payload = json.loads(body)
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        errors = error.get("errors") or []
        if errors and isinstance(errors[0], dict):
            reason = errors[0].get("reason")
        message = str(error.get("message") or "")
    except (ValueError, AttributeError):
        message = "non-JSON error body"
    message = redact(message, secret)[:300]
    detail = f"HTTP {status}, reason={reason or 'unknown'}: {message}"

    if reason == "quotaExceeded":
        return QuotaExceededError(
            "YouTube API daily quota exceeded; it resets at midnight Pacific time. " + detail,
            status=status,
            reason=reason,
        )
    if reason in ("keyInvalid", "keyExpired", "API_KEY_INVALID"):
        return KeyInvalidError(
            "YouTube API key is invalid: check YOUTUBE_API_KEY. " + detail,
            status=status,
            reason=reason,
        )
    if reason in ("accessNotConfigured", "forbidden", "ipRefererBlocked", "SERVICE_DISABLED"):
        return AccessDeniedError(
            "YouTube Data API v3 refused this key: enable the API for the key's Google Cloud "
            "project and check the key's restrictions. " + detail,
            status=status,
            reason=reason,
        )
    if reason in ("rateLimitExceeded", "userRateLimitExceeded") or status == 429:
        return RateLimitedError(
            "YouTube API rate limit hit. " + detail, status=status, reason=reason
        )
    if status >= 500:
        return YouTubeUnavailableError(
            "YouTube API unavailable. " + detail, status=status, reason=reason
        )
    if status == 403:
        return AccessDeniedError(
            "YouTube API refused the request. " + detail, status=status, reason=reason
        )
    return BadRequestError(
        "YouTube API rejected the request. " + detail, status=status, reason=reason
    )
