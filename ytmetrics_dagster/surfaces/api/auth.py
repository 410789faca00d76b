"""Who may do what: writes need an API token (``Authorization: Bearer …``) that is not
read-only; reads are open unless YTMETRICS_API_READ_TOKENS=required. A token is never echoed,
logged or put in an error: a failure says only what was wrong with the header."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from ytmetrics_dagster.settings import ApiSettings, is_loopback
from ytmetrics_dagster.warehouse.api_tokens import ApiToken, authenticate


class AuthError(Exception):
    """401 (no usable token) or 403 (a read-only token asked to write)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class OpenReadsRefused(RuntimeError):
    """Open reads on an address other machines can reach, without explicit consent."""


def check_bind(host: str, settings: ApiSettings) -> None:
    """Refuse to serve open reads beyond this machine unless explicitly allowed."""
    if is_loopback(host) or settings.read_tokens_required or settings.allow_open_reads:
        return
    raise OpenReadsRefused(
        f"refusing to serve the API on {host[:100]!r} with reads open to anyone who can reach "
        "it: set YTMETRICS_API_READ_TOKENS=required (reads need a token from `ytmetrics tokens "
        "create`), or YTMETRICS_API_ALLOW_OPEN_READS=1 to serve open reads anyway"
    )


def _bearer(request: Request) -> str | None:
    headers = request.headers.getlist("authorization")
    if not headers:
        return None
    if len(headers) > 1:
        raise AuthError(401, "send one Authorization header")
    scheme, _, secret = headers[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError(401, "the Authorization header must be 'Bearer <token>'")
    return secret.strip()


def _token(request: Request) -> ApiToken | None:
    secret = _bearer(request)
    if secret is None:
        return None
    token = authenticate(request.app.state.engine, secret, now=datetime.now(UTC))
    if token is None:
        raise AuthError(401, "the token is not valid (unknown or revoked)")
    return token


def require_read(request: Request) -> ApiToken | None:
    token = _token(request)
    if token is None and request.app.state.settings.read_tokens_required:
        raise AuthError(401, "reads need an API token here: send 'Authorization: Bearer <token>'")
    return token


def require_write(request: Request) -> ApiToken:
    token = _token(request)
    if token is None:
        raise AuthError(
            401,
            "writes need an API token: send 'Authorization: Bearer <token>' "
            "(`ytmetrics tokens create --name NAME` makes one)",
        )
    if token.read_only:
        raise AuthError(403, f"token {token.name!r} is read-only: it cannot write")
    return token
