"""API tokens for the HTTP API: created, listed and revoked by `ytmetrics tokens`.

A token is a high-entropy secret shown once, when created; only its sha256 is stored, so a
stolen table reveals no token. A lookup hashes what was sent and compares hashes in SQL."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.frames import Rows

if TYPE_CHECKING:
    pass

TOKEN_PREFIX = "ytm_"
MAX_NAME = 100


class TokenError(ValueError):
    """A token name that cannot be used, or an unknown token; nothing was changed."""


@dataclass(frozen=True)
class ApiToken:
    token_id: int
    name: str
    read_only: bool


@dataclass(frozen=True)
class CreatedToken:
    token_id: int
    name: str
    read_only: bool
    secret: str  # shown once; never stored


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise TokenError(
            f"a token name is 1 to {MAX_NAME} printable characters (got {len(name)} characters)"
        )
    return name


def create_token(engine: Engine, name: str, *, read_only: bool) -> CreatedToken:
    """A new token; its name must not be in use by a token that is not revoked."""
    name = _check_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                INSERT INTO ytmetrics.api_tokens (name, token_sha256, read_only)
                VALUES (:name, :hash, :read_only)
                ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
                RETURNING token_id
                """
            ),
            {"name": name, "hash": token_hash(secret), "read_only": read_only},
        ).first()
    if row is None:
        raise TokenError(
            f"a token named {name!r} exists already (revoke it first: `ytmetrics tokens revoke`)"
        )
    return CreatedToken(row.token_id, name, read_only, secret)


def revoke_token(engine: Engine, name_or_id: str, *, now: datetime) -> ApiToken:
    """Revoke the active token of that name (or id); from now on it authenticates nothing."""
    key = name_or_id.strip()
    token_id = int(key) if key.isascii() and key.isdigit() and len(key) < 18 else None
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                UPDATE ytmetrics.api_tokens SET revoked_at = :now
                WHERE revoked_at IS NULL
                  AND (name = :name OR token_id = CAST(:id AS bigint))
                RETURNING token_id, name, read_only
                """
            ),
            {"now": now, "name": key, "id": token_id},
        ).first()
    if row is None:
        raise TokenError(f"no active token named {key[:100]!r} (`ytmetrics tokens list`)")
    return ApiToken(row.token_id, row.name, row.read_only)


def token_rows(engine: Engine, *, include_revoked: bool = False) -> Rows:
    """The tokens (never their secrets nor hashes), active ones only unless
    ``include_revoked``."""
    with engine.connect() as conn:
        return Rows.of(
            conn.execute(
                text(
                    """
                    SELECT token_id, name, read_only, created_at, last_used_at, revoked_at
                    FROM ytmetrics.api_tokens
                    WHERE :all OR revoked_at IS NULL
                    ORDER BY token_id
                    """
                ),
                {"all": include_revoked},
            )
        )


def authenticate(engine: Engine, secret: str, *, now: datetime) -> ApiToken | None:
    """The active token whose secret this is, its use recorded; None for anything else."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT token_id, name, read_only, last_used_at FROM ytmetrics.api_tokens "
                "WHERE token_sha256 = :hash AND revoked_at IS NULL"
            ),
            {"hash": token_hash(secret)},
        ).first()
        if row is None:
            return None
        # its use is recorded at most once a minute: a busy client does not queue on the row
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            conn.execute(
                text("UPDATE ytmetrics.api_tokens SET last_used_at = :now WHERE token_id = :id"),
                {"now": now, "id": row.token_id},
            )
    return ApiToken(row.token_id, row.name, row.read_only)
