"""Bounds of every read, and the error a read outside them raises.

Read API over the warehouse; every value is a bound parameter."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

INTERVALS = ("hour", "day", "week", "month")


MAX_DAYS = 3660


# Bounds of the other parameters; the CLI and the MCP server validate against these same names.
MAX_LIST_LIMIT = 10_000


MAX_OFFSET = 1_000_000_000


MAX_TOP_HOURS = 24 * 366


MAX_TOP_LIMIT = 1000


class InvalidQueryError(ValueError):
    pass


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def markdown(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False) if len(frame) else "_none_"
