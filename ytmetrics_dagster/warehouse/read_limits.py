"""Bounds of every read, and the error a read outside them raises.

Read API over the warehouse; every value is a bound parameter. Importing this module costs
nothing (no pandas, no SQLAlchemy): the CLI builds its parser, `--help` included, from these
names alone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

INTERVALS = ("hour", "day", "week", "month")


MAX_DAYS = 3660


# Bounds of the other parameters; the CLI and the MCP server validate against these same names.
MAX_LIST_LIMIT = 10_000


MAX_OFFSET = 1_000_000_000


MAX_TOP_HOURS = 24 * 366


MAX_TOP_LIMIT = 1000

# The listings of the queues and the alert inbox (their modules name them MAX_LIST_LIMIT).
MAX_REQUESTS_LIMIT = 10_000
MAX_COLLECTIONS_LIMIT = 10_000
MAX_ALERTS_LIMIT = 1000

# A registration request's verdict, in the order a request goes through them.
REQUEST_STATUSES = ("pending", "registered", "rejected", "failed")


class InvalidQueryError(ValueError):
    pass


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def markdown(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False) if len(frame) else "_none_"
