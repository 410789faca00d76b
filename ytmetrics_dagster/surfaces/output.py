"""One JSON shape per result, the same on every surface: `ytmetrics ... --format json` and the
MCP tools return exactly these.

Every value is converted here, whatever the read API handed over (numpy and Decimal numbers,
pandas or Python timestamps, ISO strings, NaN/NaT/NA):

- counts are JSON integers, rates and ratios JSON numbers (floats), NULL is ``null``;
- timestamps are ISO 8601 in UTC with a ``Z``, to the second: ``2026-11-20T05:00:00Z``;
- objects carry exactly the keys of their shape, in its order (a key the data lacks is null).

A shape is a dict of field -> kind, nested shape, or a one-element list ``[kind or shape]``.
``describe()`` renders a shape for the README; the tests check every field's type.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

INT, FLOAT, STR, BOOL, TIME = "integer", "number", "string", "boolean", "timestamp"

VIDEO = {
    "video_id": STR,
    "title": STR,
    "channel_id": STR,
    "channel_title": STR,
    "published_at": TIME,
    "status": STR,
    "added_at": TIME,
}
VIDEO_ROW = {**VIDEO, "last_updated": TIME}
VIDEO_LIST = {"total": INT, "offset": INT, "limit": INT, "videos": [VIDEO_ROW]}

PERIOD = {
    "days": INT,
    "interval": STR,
    "start": TIME,
    "end": TIME,
    "growth_definition": STR,
}
SERIES_ROW = {
    "period": TIME,
    "observations": INT,
    "views": INT,
    "likes": INT,
    "comments": INT,
    "views_gained": INT,
    "likes_gained": INT,
    "comments_gained": INT,
}
GROWTH_OF = {
    "absolute": INT,
    "percent": FLOAT,
    "from": INT,
    "to": INT,
    "from_observed_at": TIME,
    "to_observed_at": TIME,
    "baseline": STR,
}
GROWTH = {"views": GROWTH_OF, "likes": GROWTH_OF, "comments": GROWTH_OF}
METRICS = {"video": VIDEO, "period": PERIOD, "growth": GROWTH, "series": [SERIES_ROW]}

LAUNCH_POINT = {
    "age_label": STR,
    "age_hours": INT,
    # interpolated between two observations, so fractional
    "views": FLOAT,
    "likes": FLOAT,
    "comments": FLOAT,
    "interpolated": BOOL,
    "before_observed_at": TIME,
    "after_observed_at": TIME,
}
MILESTONE = {
    "computed_at": TIME,
    "views": INT,
    "observed_at": TIME,
    "window_start": TIME,
    "window_hours": FLOAT,
    "window_hours_configured": INT,
    "views_per_hour": FLOAT,
    "next_milestone": INT,
    "eta_hours": FLOAT,
    "eta_at": TIME,
    "method": STR,
    "eta_horizon_hours": INT,
    "eta_beyond_horizon": BOOL,
}
LATEST = {
    "observed_at": TIME,
    "view_count": INT,
    "like_count": INT,
    "comment_count": INT,
    "source": STR,
}
VELOCITY = {"views_per_hour_recent": FLOAT, "window_start": TIME, "window_end": TIME}
MEDIAN_POINT = {
    "age": STR,
    "views": FLOAT,
    "channel_median_views": FLOAT,
    "ratio_to_median": FLOAT,
    "channel_videos": INT,
}
ANALYSIS = {
    "video": VIDEO,
    "period": PERIOD,
    "data_sources": [STR],
    "observations": INT,
    "series": [SERIES_ROW],
    "growth": GROWTH,
    "latest": LATEST,
    "velocity": VELOCITY,
    "engagement_rate": FLOAT,
    "launch_curve": [LAUNCH_POINT],
    "vs_channel_median": [MEDIAN_POINT],
    "milestone": MILESTONE,
}

TOP_ROW = {
    "video_id": STR,
    "title": STR,
    "channel_title": STR,
    "views_gained": INT,
    "views_per_hour": FLOAT,
    "views": INT,
    "views_observed_at": TIME,
    "covered_hours": FLOAT,
    "prorated": BOOL,
}
TOP = {"hours": INT, "limit": INT, "channel_id": STR, "method": STR, "videos": [TOP_ROW]}

CHANNEL_ROW = {
    "channel_id": STR,
    "handle": STR,
    "title": STR,
    "status": STR,
    "tracked_at": TIME,
    "last_polled_at": TIME,
    "uploads_registered": INT,
    "active_videos": INT,
}
CHANNEL_LIST = {"total": INT, "channels": [CHANNEL_ROW]}

REQUEST_ROW = {
    "request_id": INT,
    "requested_input": STR,
    "video_id": STR,
    "status": STR,
    "reason": STR,
    "requested_by": STR,
    "requested_at": TIME,
    "resolved_at": TIME,
}
REQUEST_LIST = {"total": INT, "offset": INT, "limit": INT, "requests": [REQUEST_ROW]}

REGISTRATION = {
    "input": STR,
    "video_id": STR,
    "outcome": STR,
    "request_id": INT,
    "status": STR,
    "reason": STR,
}
REGISTRATIONS = {"registrations": [REGISTRATION]}

REMOVAL = {
    "video_id": STR,
    "already_removed": BOOL,
    "removed_at": TIME,
    "deleted": {"snapshots": INT, "growth_hourly": INT, "growth_daily": INT},
}
CHANNEL_CHANGE = {"channel_id": STR, "handle": STR, "title": STR, "status": STR, "queued": INT}

COLLECTION = {
    "request_id": INT,
    "video_id": STR,
    "status": STR,
    "reason": STR,
    "requested_by": STR,
    "requested_at": TIME,
    "snapshot_hour": TIME,
    "resolved_at": TIME,
}
COLLECTION_LIST = {"total": INT, "offset": INT, "limit": INT, "collections": [COLLECTION]}

ALERT_ROW = {
    "alert_id": INT,
    "kind": STR,
    "message": STR,
    "created_at": TIME,
    "delivery_state": STR,
    "delivery_error": STR,
    "acknowledged_at": TIME,
    "acknowledged_by": STR,
}
ALERT_LIST = {"total": INT, "offset": INT, "limit": INT, "alerts": [ALERT_ROW]}

# What the README documents, in its order: the parts first, then the results that use them
# (a part is named where it appears).
SHAPES = {
    "VIDEO": VIDEO,
    "VIDEO_ROW": VIDEO_ROW,
    "SERIES_ROW": SERIES_ROW,
    "GROWTH_OF": GROWTH_OF,
    "GROWTH": GROWTH,
    "PERIOD": PERIOD,
    "LATEST": LATEST,
    "VELOCITY": VELOCITY,
    "LAUNCH_POINT": LAUNCH_POINT,
    "MEDIAN_POINT": MEDIAN_POINT,
    "MILESTONE": MILESTONE,
    "TOP_ROW": TOP_ROW,
    "CHANNEL_ROW": CHANNEL_ROW,
    "REQUEST_ROW": REQUEST_ROW,
    "REGISTRATION": REGISTRATION,
    "VIDEO_LIST": VIDEO_LIST,
    "METRICS": METRICS,
    "ANALYSIS": ANALYSIS,
    "TOP": TOP,
    "CHANNEL_LIST": CHANNEL_LIST,
    "REQUEST_LIST": REQUEST_LIST,
    "REGISTRATIONS": REGISTRATIONS,
    "REMOVAL": REMOVAL,
    "CHANNEL_CHANGE": CHANNEL_CHANGE,
    "COLLECTION": COLLECTION,
    "COLLECTION_LIST": COLLECTION_LIST,
    "ALERT_ROW": ALERT_ROW,
    "ALERT_LIST": ALERT_LIST,
}


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | Decimal):
        return not math.isfinite(float(value))
    try:
        return bool(pd.isna(value)) if not isinstance(value, str) else False
    except (TypeError, ValueError):
        return False


def timestamp(value: Any) -> str | None:
    """ISO 8601 UTC with ``Z``, to the second; naive values are taken as UTC."""
    if _missing(value):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {type(value).__name__}")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _integer(value: Any) -> int | None:
    if _missing(value):
        return None
    if isinstance(value, float | Decimal) and value != int(value):
        return round(value)
    return int(value)


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _boolean(value: Any) -> bool | None:
    return None if _missing(value) else bool(value)


def _string(value: Any) -> str | None:
    return None if _missing(value) else str(value)


_KINDS = {INT: _integer, FLOAT: _number, STR: _string, BOOL: _boolean, TIME: timestamp}


def _rows(value: Any) -> list:
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="records")
    return list(value)


def conform(value: Any, shape: Any) -> Any:
    """``value`` in ``shape``: exactly its keys, each converted to its kind."""
    if isinstance(shape, dict):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            value = vars(value)
        return {key: conform(value.get(key), sub) for key, sub in shape.items()}
    if isinstance(shape, list):
        if value is None or (not isinstance(value, pd.DataFrame) and _missing(value)):
            return []
        return [conform(item, shape[0]) for item in _rows(value)]
    return _KINDS[shape](value)


def analysis(result: dict) -> dict:
    """The read API's analysis in the ANALYSIS shape (the velocity window as two timestamps)."""
    milestone = result.get("milestone") or {}
    start = milestone.get("window_start")
    velocity = {
        "views_per_hour_recent": (result.get("velocity") or {}).get("views_per_hour_recent"),
        "window_start": start,
        "window_end": milestone.get("observed_at") if start else None,
    }
    return conform({**result, "velocity": velocity}, ANALYSIS)


def metrics(result: Any, growth_definition: str) -> dict:
    """A ``metric_series.video_metrics`` result in the METRICS shape."""
    period = {
        "days": result.days,
        "interval": result.interval,
        "start": result.start,
        "end": result.end,
        "growth_definition": growth_definition,
    }
    return conform(
        {"video": result.video, "period": period, "growth": result.growth, "series": result.series},
        METRICS,
    )


def dumps(payload: Any) -> str:
    """Strict JSON (no NaN), non-ASCII kept readable."""
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False)


def table(rows: list[dict], shape: dict) -> pd.DataFrame:
    """Conformed rows as a frame with the shape's columns (for the table and CSV formats), with
    the JSON's values: integers stay integers (nullable), a null stays empty."""
    frame = pd.DataFrame(rows, columns=list(shape))
    for column, kind in shape.items():
        if kind == INT:
            frame[column] = frame[column].astype("Int64")
    return frame


def _inline(shape: Any, top: bool = False) -> str:
    if isinstance(shape, list):
        return "[" + _inline(shape[0]) + ", …]"
    if not isinstance(shape, dict):
        return shape
    if not top:
        for name, known in SHAPES.items():
            if known is shape:
                return name
    return "{" + ", ".join(f'"{key}": {_inline(sub)}' for key, sub in shape.items()) + "}"


def describe(name: str, width: int = 96) -> str:
    """``NAME = {...}``: the shape as a JSON skeleton with kinds for values and named parts by
    name, wrapped to ``width``."""
    text = f"{name} = {_inline(SHAPES[name], top=True)}"
    pieces = re.split(r", (?=\")", text)
    lines, line = [], pieces[0]
    for piece in pieces[1:]:
        if len(line) + len(", ") + len(piece) >= width:  # room for the comma
            lines.append(line + ",")
            line = "    " + piece
        else:
            line += ", " + piece
    return "\n".join([*lines, line])


def reference() -> str:
    """Every documented shape, as the README shows them."""
    return "\n".join(describe(name) for name in SHAPES)
