"""What the user surfaces (CLI, MCP server, HTTP API, dashboard) share: the bounds of every number a user can give
(the read API's own limits, stated once), how much of a rejected input is echoed back, and how
each kind of failure reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ytmetrics_dagster.warehouse import read_limits
from ytmetrics_dagster.youtube.ids import InvalidVideoInput, parse_channel

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2
# `register --wait`: a verdict came back and it is "rejected" / no verdict before the timeout
EXIT_REJECTED, EXIT_TIMEOUT = 3, 4

# A rejected input is echoed back at most this long: a megabyte pasted by mistake stays out
# of terminals, tool results and run logs.
ECHO_LIMIT = 200
_MESSAGE_LIMIT = 600


def clip(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr`` of what the user gave, cut to ``limit`` characters with its real length."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def clip_message(message: str) -> str:
    """A message that may quote user input (argparse, pydantic, Postgres): one line, every
    long run of characters cut, the whole at most a few hundred characters."""
    one_line = " ".join(message.split())
    clipped = re.sub(
        rf"\S{{{ECHO_LIMIT + 1},}}",
        lambda m: m.group(0)[:ECHO_LIMIT] + f"…({len(m.group(0)):,} characters)",
        one_line,
    )
    if len(clipped) > _MESSAGE_LIMIT:
        clipped = clipped[:_MESSAGE_LIMIT] + "…"
    return clipped


class UserInputError(ValueError):
    """Input that is well-formed but cannot be acted on; nothing was changed."""


def check_text(value: str | None, name: str) -> str | None:
    """Text that cannot be encoded (lone surrogates, e.g. undecodable bytes) can be neither
    stored nor printed: invalid input."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UserInputError(f"{name} is not valid Unicode text") from None
    return value


def channel_filter(raw: str) -> str:
    """A channel to filter by: a channel id (UC…) or channel URL, not a handle."""
    ref = parse_channel(check_text(raw, "channel"))
    if ref.channel_id is None:
        raise UserInputError(
            f"filter by a channel id (UC…), not a handle: {clip(raw)} "
            "(`ytmetrics channels` lists them with their ids)"
        )
    return ref.channel_id


@dataclass(frozen=True)
class Bound:
    """An integer parameter's inclusive range, with the one sentence that states it."""

    name: str
    low: int
    high: int

    @property
    def requirement(self) -> str:
        return f"must be an integer from {self.low} to {self.high}"

    @property
    def rule(self) -> str:
        return f"{self.name} {self.requirement}"

    def parse(self, raw: str) -> int:
        """An integer in range from text (CLI arguments, query parameters), else ValueError
        stating the rule. One rule on every surface: ASCII digits only (``int()`` alone would
        also take "٣", "+3", " 3 " and "1_0")."""
        number = whole_number(raw)
        if number is None or not self.low <= number <= self.high:
            raise ValueError(f"{self.rule} (got {clip(raw)})")
        return number


# At most 18 digits: every bound fits, and int() never meets thousands of digits.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str) -> int | None:
    """``raw`` as a non-negative integer when it is 1 to 18 ASCII digits and nothing else
    (no sign, space, underscore or other script's digits), else None."""
    if not isinstance(raw, str) or not _WHOLE_NUMBER.fullmatch(raw):
        return None
    return int(raw)


DAYS = Bound("days", 1, read_limits.MAX_DAYS)
LIST_LIMIT = Bound("limit", 1, read_limits.MAX_LIST_LIMIT)
OFFSET = Bound("offset", 0, read_limits.MAX_OFFSET)
TOP_HOURS = Bound("hours", 1, read_limits.MAX_TOP_HOURS)
TOP_LIMIT = Bound("limit", 1, read_limits.MAX_TOP_LIMIT)
REQUESTS_LIMIT = Bound("limit", 1, read_limits.MAX_REQUESTS_LIMIT)
WAIT_SECONDS = Bound("timeout", 1, 3600)
MCP_WAIT_SECONDS = Bound("wait_seconds", 0, 120)
DEMO_HOURS = Bound("hours", 1, 24 * 30)
EXISTING_UPLOADS = Bound("existing", 0, 100_000)
PORT = Bound("port", 1, 65535)
# the HTTP API waits for a verdict as long as an MCP tool does
HTTP_WAIT_SECONDS = Bound("wait_seconds", 0, MCP_WAIT_SECONDS.high)
ALERTS_LIMIT = Bound("limit", 1, read_limits.MAX_ALERTS_LIMIT)
COLLECTIONS_LIMIT = Bound("limit", 1, read_limits.MAX_COLLECTIONS_LIMIT)
# ids are Postgres bigints
ID = Bound("id", 1, 2**63 - 1)
# the dashboard's own parameters (its `days` is DAYS)
PAGE = Bound("page", 1, 1_000_000)
PER_PAGE = Bound("per_page", 1, 100)
AGE_DAYS = Bound("age_days", 1, 365)
COMPARE_VIDEOS = 8
SEARCH_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def search_problem(text: str) -> str | None:
    """Why a search text cannot be searched for (None when it can): too long, or holding
    control characters."""
    if len(text) > SEARCH_LENGTH:
        return f"search text is longer than {SEARCH_LENGTH} characters"
    if _CONTROL.search(text):
        return "search text contains control characters"
    return None


@cache
def _failure_kinds() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(invalid input, runtime failure) exception classes. Imported when a failure is
    described, not with this module: the CLI's parser (and `--help`) reads the bounds above
    without loading SQLAlchemy, psycopg or the warehouse modules."""
    from ytmetrics_dagster.warehouse import collections
    from ytmetrics_dagster.warehouse.alert_inbox import UnknownAlertError
    from ytmetrics_dagster.warehouse.api_tokens import TokenError
    from ytmetrics_dagster.warehouse.backup import BackupError
    from ytmetrics_dagster.warehouse.channels import UnknownChannelError
    from ytmetrics_dagster.warehouse.embedded import (
        SupervisedPostgresDownError,
        WarehouseStartError,
    )
    from ytmetrics_dagster.warehouse.engine import DatabaseUnavailableError
    from ytmetrics_dagster.warehouse.migrate import SchemaOutOfDateError
    from ytmetrics_dagster.warehouse.quota import LedgerUnavailableError, QuotaBudgetExceeded
    from ytmetrics_dagster.warehouse.sources import SourceMixError
    from ytmetrics_dagster.warehouse.videos import UnknownVideoError
    from ytmetrics_dagster.youtube.errors import YouTubeError

    invalid = (
        InvalidVideoInput,
        read_limits.InvalidQueryError,
        UnknownVideoError,
        UnknownChannelError,
        UserInputError,
        UnknownAlertError,
        collections.VideoNotActiveError,
        TokenError,
    )
    runtime = (
        DatabaseUnavailableError,
        SupervisedPostgresDownError,
        WarehouseStartError,
        SchemaOutOfDateError,
        QuotaBudgetExceeded,
        LedgerUnavailableError,
        SourceMixError,
        BackupError,
        YouTubeError,
    )
    return invalid, runtime


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    lines = str(orig).strip().splitlines()
    return clip_message(lines[0] if lines else type(orig).__name__)


def describe_failure(err: BaseException) -> tuple[int, str] | None:
    """(exit code, message) for a failure a user should read as such, or None for a bug
    (which keeps its traceback). Messages never carry a password or a megabyte of input."""
    import psycopg
    from sqlalchemy import exc as sa_exc

    invalid, runtime = _failure_kinds()
    if isinstance(err, invalid):
        return EXIT_INVALID, clip_message(str(err))
    if isinstance(err, runtime):
        return EXIT_FAILURE, clip_message(str(err))
    if isinstance(err, sa_exc.DataError):
        # e.g. a value beyond bigint: the input, not the warehouse, is at fault
        return EXIT_INVALID, f"value out of range for the warehouse: {_first_line(err)}"
    if isinstance(err, sa_exc.OperationalError | sa_exc.InterfaceError | psycopg.OperationalError):
        return EXIT_FAILURE, f"the warehouse is unavailable: {_first_line(err)}"
    if isinstance(err, sa_exc.DBAPIError) and err.connection_invalidated:
        return EXIT_FAILURE, f"the warehouse is unavailable: {_first_line(err)}"
    # a connection lost under a library that wraps it (pandas' DatabaseError around psycopg's)
    cause = err.__cause__ or err.__context__
    lost = (sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.OperationalError)
    for _ in range(3):
        if cause is None:
            break
        if isinstance(cause, lost):
            return EXIT_FAILURE, f"the warehouse is unavailable: {_first_line(cause)}"
        cause = cause.__cause__ or cause.__context__
    return None
