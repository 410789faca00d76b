"""The YouTube Data API's failures, as exceptions a caller can act on.

Messages never contain the API key. The key travels in a request header, never in a URL, but
an error body is written by whoever answers: a hostile or broken endpoint may echo the key in
any field, in any letter case or percent-encoded. So everything taken from a response (the
message, the reasons, the details, an excerpt of a non-JSON body) is scrubbed by ``redact``,
stripped of control characters and bounded in length before it reaches an exception, a log
or the quota ledger (``reason`` is stored in ``api_calls.reason``).

Google sends two generations of error envelope, often in one body: the legacy ``errors[]``
list (``reason`` such as ``quotaExceeded``) and google.rpc ``details[]`` (an ``ErrorInfo``
whose ``reason`` is such as ``API_KEY_INVALID`` or ``SERVICE_DISABLED``). Today an invalid key
is ``HTTP 400, errors[0].reason = badRequest`` with ``API_KEY_INVALID`` only in ``details``,
so both are read.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from urllib.parse import unquote_plus

REDACTED = "[REDACTED]"
MAX_MESSAGE = 300
MAX_REASON = 64
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
# errors[].reason values that only name the HTTP class; the ErrorInfo reason says more.
_GENERIC_REASONS = {"badRequest", "forbidden", "invalid", "unauthorized"}

_KEY_INVALID = {"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"}
_ACCESS_DENIED = {
    "accessNotConfigured",
    "forbidden",
    "ipRefererBlocked",
    "SERVICE_DISABLED",
    "API_KEY_SERVICE_BLOCKED",
    "API_KEY_HTTP_REFERRER_BLOCKED",
    "API_KEY_IP_ADDRESS_BLOCKED",
    "API_KEY_ANDROID_APP_BLOCKED",
    "API_KEY_IOS_APP_BLOCKED",
}
_RATE_LIMITED = {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}


class YouTubeError(RuntimeError):
    """Base class. ``reason`` is YouTube's machine-readable reason when there is one
    (sanitized: at most 64 characters of ``[A-Za-z0-9_.:[]-]``)."""

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
    """A 400 other than an invalid key: the request itself is wrong (a bug here, not there)."""


@lru_cache(maxsize=8)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """Each character of the secret, matched in either letter case or as a %XX escape (any
    hex case), or ``+`` for a space: every spelling a URL encoder or an echo could produce."""
    pieces = []
    for char in secret:
        escapes = "|".join(f"%{b:02x}" for b in char.encode())
        alternatives = [re.escape(char), escapes] + (["\\+"] if char == " " else [])
        pieces.append("(?:" + "|".join(alternatives) + ")")
    return re.compile("".join(pieces), re.IGNORECASE)


def redact(text: str, secret: str | None) -> str:
    """``text`` with every spelling of ``secret`` replaced by ``[REDACTED]``."""
    if secret and text:
        text = _secret_pattern(secret).sub(REDACTED, text)
    return text


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_UNSAFE_REASON = re.compile(r"[^A-Za-z0-9_.:\[\]-]+")
_TAG = re.compile(r"<[^>]*>")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
WITHHELD = "[withheld: the server's text contained the API key]"


def _still_leaks(text: str, secret: str | None) -> bool:
    """Whether ``text`` (already redacted) still carries the secret in a spelling ``redact``
    does not undo: encoded twice, as HTML entities or \\u escapes, or with separators
    between its characters (what a sanitizer replacing characters could put back together)."""
    if not secret or not text:
        return False
    variants = {
        text,
        html.unescape(text),
        _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text),
    }
    for variant in list(variants):
        once = unquote_plus(variant)
        variants |= {once, unquote_plus(once)}
    pattern = _secret_pattern(secret)
    if any(pattern.search(v) for v in variants):
        return True
    core = _NOT_ALNUM.sub("", secret.lower())
    return len(core) >= 8 and any(core in _NOT_ALNUM.sub("", v.lower()) for v in variants)


def clean_text(text: object, secret: str | None, limit: int = MAX_MESSAGE) -> str:
    """Server-written text made safe for a message or a log line: redacted, one line, bounded.
    Text that would still give the key away after redaction is withheld whole."""
    text = _CONTROL.sub(" ", redact(str(text), secret)).strip()
    if _still_leaks(text, secret):
        return WITHHELD
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_reason(value: object, secret: str | None) -> str | None:
    """A server-written reason fit for ``api_calls.reason``: redacted, a bounded token."""
    if value is None or value == "":
        return None
    redacted = redact(str(value), secret)
    token = _UNSAFE_REASON.sub("_", redacted).strip("_")
    # Checked before sanitizing too: "%2541%2549..." becomes "2541_2549...", still readable.
    if _still_leaks(redacted, secret) or _still_leaks(token, secret):
        return REDACTED
    return token[:MAX_REASON] or None


def _reasons(error: dict) -> tuple[list[object], list[object]]:
    """(errors[].reason, details[ErrorInfo].reason), raw."""
    legacy = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
    info = [
        d.get("reason")
        for d in error.get("details") or []
        if isinstance(d, dict) and d.get("@type") == _ERROR_INFO
    ]
    return legacy, info


def _non_json_excerpt(body: str, secret: str | None) -> str:
    # Entities and \u escapes are decoded before redaction, so "&#65;IzaSy..." or
    # "\u0041IzaSy..." cannot smuggle the key past it.
    text = html.unescape(_TAG.sub(" ", body))
    text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return "non-JSON error body: " + clean_text(text, secret, 120)


def error_from_response(status: int, body: str, secret: str | None = None) -> YouTubeError:
    """Map an HTTP error response (JSON envelope or not) to the right exception."""
    legacy: list[object] = []
    info: list[object] = []
    try:
        payload = json.loads(body)
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            raise ValueError("no error envelope")
        legacy, info = _reasons(error)
        message = clean_text(error.get("message") or "", secret)
    except (ValueError, AttributeError, TypeError):
        message = _non_json_excerpt(body, secret)

    raw = {str(r) for r in legacy + info if r}
    legacy_reason = clean_reason(next((r for r in legacy if r), None), secret)
    info_reason = clean_reason(next((r for r in info if r), None), secret)
    reason = (
        info_reason
        if info_reason and (legacy_reason is None or legacy_reason in _GENERIC_REASONS)
        else legacy_reason
    )
    shown = ", ".join(dict.fromkeys(r for r in (legacy_reason, info_reason) if r)) or "unknown"
    detail = f"HTTP {status}, reason={shown}: {message}"

    if "quotaExceeded" in raw:
        return QuotaExceededError(
            "YouTube API daily quota exceeded; it resets at midnight Pacific time. " + detail,
            status=status,
            reason=reason,
        )
    if raw & _KEY_INVALID:
        return KeyInvalidError(
            "YouTube API key is invalid: check YOUTUBE_API_KEY. " + detail,
            status=status,
            reason=reason,
        )
    if raw & _ACCESS_DENIED:
        return AccessDeniedError(
            "YouTube Data API v3 refused this key: enable the API for the key's Google Cloud "
            "project and check the key's restrictions. " + detail,
            status=status,
            reason=reason,
        )
    if raw & _RATE_LIMITED or status == 429:
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
