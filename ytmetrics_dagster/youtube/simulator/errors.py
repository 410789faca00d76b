"""The error bodies the simulator answers with, in the shapes the real API uses today.

Two generations of envelope coexist at Google: the legacy one (``errors[]`` with a YouTube
``reason`` and ``domain``) and the google.rpc one (``status`` plus typed ``details`` such as
``google.rpc.ErrorInfo``). The API now sends both in one body for key and project problems, so
a client must read ``details[].reason`` as well as ``errors[].reason``. The shapes below follow
the recorded responses in ``shared/fixtures/youtube`` (quotaExceeded, accessNotConfigured) and
what Google answers to a made-up key today (HTTP 400, ``badRequest`` + ``API_KEY_INVALID``).
"""

from __future__ import annotations

import json
from urllib.parse import quote

JSON_TYPE = "application/json; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
LOCALIZED_MESSAGE = "type.googleapis.com/google.rpc.LocalizedMessage"
HELP = "type.googleapis.com/google.rpc.Help"
SIMULATED_PROJECT = "000000000000"
ACTIVATION_URL = (
    "https://console.developers.google.com/apis/api/youtube.googleapis.com/overview"
    f"?project={SIMULATED_PROJECT}"
)


def error_body(
    code: int,
    reason: str,
    message: str,
    domain: str = "global",
    *,
    status: str | None = None,
    location: str | None = None,
    details: list[dict] | None = None,
    error_message: str | None = None,
    extended_help: str | None = None,
) -> bytes:
    """One JSON error envelope. ``error_message`` is the top-level message when it differs
    from the one in ``errors[0]`` (as it does for unknown parts, say)."""
    entry: dict = {"message": message, "domain": domain, "reason": reason}
    if location:
        entry["location"] = location
        entry["locationType"] = "parameter"
    if extended_help:
        entry["extendedHelp"] = extended_help
    error: dict = {"code": code, "message": error_message or message, "errors": [entry]}
    if status:
        error["status"] = status
    if details:
        error["details"] = details
    return json.dumps({"error": error}, indent=2).encode()


def invalid_parameter(name: str, message: str) -> tuple[int, bytes]:
    return 400, error_body(
        400, "invalidParameter", message, location=name, status="INVALID_ARGUMENT"
    )


def invalid_fields(selection: str) -> tuple[int, bytes]:
    return invalid_parameter("fields", f"Invalid field selection {selection}")


def unknown_part(part: str) -> tuple[int, bytes]:
    # The real body quotes the part and carries no google.rpc status.
    return 400, error_body(400, "unknownPart", f"'{part}'", "youtube.part", location="part")


def required_parameter(name: str) -> tuple[int, bytes]:
    return 400, error_body(
        400, "required", f"Required parameter: {name}", location=name, status="INVALID_ARGUMENT"
    )


def not_found(message: str) -> tuple[int, bytes]:
    return 404, error_body(404, "notFound", message, status="NOT_FOUND")


_QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)
_KEY_INVALID_MESSAGE = "API key not valid. Please pass a valid API key."
_NOT_ENABLED_MESSAGE = (
    f"YouTube Data API v3 has not been used in project {SIMULATED_PROJECT} before or it is "
    f"disabled. Enable it by visiting {ACTIVATION_URL} then retry. If you enabled this API "
    "recently, wait a few minutes for the action to propagate to our systems and retry."
)


def _key_invalid() -> bytes:
    return error_body(
        400,
        "badRequest",
        _KEY_INVALID_MESSAGE,
        status="INVALID_ARGUMENT",
        details=[
            {
                "@type": ERROR_INFO,
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            },
            {"@type": LOCALIZED_MESSAGE, "locale": "en-US", "message": _KEY_INVALID_MESSAGE},
        ],
    )


def _access_not_configured() -> bytes:
    return error_body(
        403,
        "accessNotConfigured",
        _NOT_ENABLED_MESSAGE,
        "usageLimits",
        status="PERMISSION_DENIED",
        extended_help="https://console.developers.google.com",
        details=[
            {
                "@type": ERROR_INFO,
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "youtube.googleapis.com",
                    "consumer": f"projects/{SIMULATED_PROJECT}",
                    "activationUrl": ACTIVATION_URL,
                    "serviceTitle": "YouTube Data API v3",
                    "containerInfo": SIMULATED_PROJECT,
                },
            },
            {"@type": LOCALIZED_MESSAGE, "locale": "en-US", "message": _NOT_ENABLED_MESSAGE},
            {
                "@type": HELP,
                "links": [
                    {
                        "description": "Google developers console API activation",
                        "url": ACTIVATION_URL,
                    }
                ],
            },
        ],
    )


# name -> (HTTP status, body bytes); "drop", "truncated", "malformed" and the key-echoing
# faults are built per request by the server.
FAULTS: dict[str, tuple[int, bytes]] = {
    # The real quotaExceeded body has no "status" field and HTML in its message.
    "quotaExceeded": (403, error_body(403, "quotaExceeded", _QUOTA_MESSAGE, "youtube.quota")),
    "keyInvalid": (400, _key_invalid()),
    # The shape Google used until about 2020 (shared/fixtures/youtube/error_response.json).
    "keyInvalidLegacy": (400, error_body(400, "keyInvalid", "Bad Request", "usageLimits")),
    "accessNotConfigured": (403, _access_not_configured()),
    "forbidden": (
        403,
        error_body(
            403,
            "forbidden",
            "The request is missing a valid API key.",
            status="PERMISSION_DENIED",
        ),
    ),
    "rateLimitExceeded": (
        403,
        error_body(403, "rateLimitExceeded", "Rate limit exceeded.", "youtube.quota"),
    ),
    "userRateLimitExceeded": (
        403,
        error_body(403, "userRateLimitExceeded", "User rate limit exceeded.", "usageLimits"),
    ),
    "429": (
        429,
        error_body(429, "rateLimitExceeded", "Too many requests.", status="RESOURCE_EXHAUSTED"),
    ),
    "500": (500, error_body(500, "backendError", "Backend Error", status="INTERNAL")),
    "502": (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "503": (
        503,
        error_body(
            503, "backendError", "The service is currently unavailable.", status="UNAVAILABLE"
        ),
    ),
}

# A hostile endpoint: every field it controls echoes the caller's key, in several spellings.
HOSTILE_FAULTS = {"echoKey", "echoKeyHtml"}
SPECIAL_FAULTS = {"drop", "truncated", "malformed"} | HOSTILE_FAULTS
# "retryAfter:N": HTTP 429 with the header Retry-After: N (seconds).
RETRY_AFTER_PREFIX = "retryAfter:"


def retry_after_seconds(fault: str) -> int | None:
    """N of a "retryAfter:N" fault, else None."""
    if not fault.startswith(RETRY_AFTER_PREFIX):
        return None
    value = fault[len(RETRY_AFTER_PREFIX) :]
    return int(value) if value.isdigit() else None


def echo_key(fault: str, key: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of a response that leaks ``key`` everywhere it can."""
    spellings = [
        key,
        key.upper(),
        key.lower(),
        quote(key, safe=""),
        "".join(f"%{b:02x}" for b in key.encode()),
    ]
    if fault == "echoKeyHtml":
        body = "<html><body><h1>400 Bad Request</h1><p>key=" + " ".join(spellings)
        body += f" &#{ord(key[0])};{key[1:]}</p></body></html>" if key else "</p></body></html>"
        return 400, body.encode(), HTML_TYPE
    error = {
        "code": 400,
        "message": f"API key {spellings[0]} not valid ({spellings[1]})",
        "errors": [
            {
                "message": f"bad key {spellings[2]}",
                "domain": f"global {spellings[3]}",
                "reason": f"badRequest:{spellings[4]}",
            }
        ],
        "status": f"INVALID_ARGUMENT {spellings[1]}",
        "details": [
            {
                "@type": ERROR_INFO,
                "reason": spellings[1],
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com", "key": spellings[0]},
            },
            {"@type": LOCALIZED_MESSAGE, "locale": "en-US", "message": spellings[3]},
        ],
    }
    return 400, json.dumps({"error": error}).encode(), JSON_TYPE
