"""The one JSON encoder and the shared wording of the surfaces, as pure logic (plus one real
database error)."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.surfaces import output
from ytmetrics_dagster.surfaces.inputs import (
    EXIT_FAILURE,
    EXIT_INVALID,
    clip,
    clip_message,
    describe_failure,
)
from ytmetrics_dagster.warehouse.engine import DatabaseUnavailableError
from ytmetrics_dagster.youtube.ids import InvalidVideoInput

pytestmark = pytest.mark.unit

SHAPE = {
    "n": output.INT,
    "rate": output.FLOAT,
    "at": output.TIME,
    "ok": output.BOOL,
    "name": output.STR,
    "rows": [{"v": output.INT}],
    "tags": [output.STR],
    "nested": {"x": output.FLOAT},
}


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (output.INT, Decimal("12345"), 12345),  # numeric sum of bigints
        (output.INT, np.int64(7), 7),
        (output.INT, 7.0, 7),  # an int column with NULLs became float64
        (output.INT, pd.NA, None),
        (output.INT, float("nan"), None),
        (output.FLOAT, Decimal("12.5"), 12.5),
        (output.FLOAT, np.float64(0.25), 0.25),
        (output.FLOAT, 3, 3.0),
        (output.FLOAT, float("inf"), None),
        (output.BOOL, np.bool_(True), True),
        (output.STR, None, None),
        (output.TIME, pd.Timestamp("2026-11-20 05:00", tz="UTC"), "2026-11-20T05:00:00Z"),
        (output.TIME, datetime(2026, 11, 20, 5, 0, 0, 999999), "2026-11-20T05:00:00Z"),
        (
            output.TIME,
            datetime(2026, 11, 20, 7, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-20T05:00:00Z",
        ),
        (output.TIME, "2026-11-20T05:00:00+00:00", "2026-11-20T05:00:00Z"),
        (output.TIME, "2026-11-20T05:00:00.000Z", "2026-11-20T05:00:00Z"),
        (output.TIME, pd.NaT, None),
    ],
)
def test_every_kind_converts_to_one_json_type(kind, value, expected):
    converted = output.conform({"v": value}, {"v": kind})["v"]
    assert converted == expected and type(converted) is type(expected)


def test_conform_keeps_exactly_the_shape_and_reads_frames():
    frame = pd.DataFrame({"v": pd.array([1, None], dtype="Int64"), "extra": ["a", "b"]})
    value = {
        "n": np.int64(3),
        "rate": Decimal("0.5"),
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "ok": False,
        "name": "x",
        "rows": frame,
        "tags": ("a", "b"),
        "nested": None,
        "not_in_the_shape": 1,
    }
    payload = output.conform(value, SHAPE)
    assert payload == {
        "n": 3,
        "rate": 0.5,
        "at": "2026-01-01T00:00:00Z",
        "ok": False,
        "name": "x",
        "rows": [{"v": 1}, {"v": None}],
        "tags": ["a", "b"],
        "nested": None,
    }
    assert json.loads(output.dumps(payload)) == payload
    assert output.conform({}, SHAPE)["rows"] == []  # arrays are never null


def test_describe_names_the_parts_it_uses():
    assert output.describe("TOP").startswith('TOP = {"hours": integer, "limit": integer')
    assert '"videos": [TOP_ROW, …]' in output.describe("TOP")
    assert all(len(line) <= 96 for line in output.reference().splitlines())


def test_clip_echoes_at_most_200_characters():
    assert clip("abc") == "'abc'"
    long = clip("x" * 1_000_000)
    assert len(long) < 240 and long.endswith("… (1,000,000 characters)")
    message = clip_message("invalid choice: '" + "y" * 10_000 + "'\n(choose from a, b)")
    assert "\n" not in message and len(message) < 300 and "(choose from a, b)" in message
    assert len(clip_message("word " * 100_000)) < 700


@pytest.mark.db
def test_failures_read_as_invalid_input_or_runtime_failures(engine):
    with pytest.raises(Exception) as info, engine.connect() as conn:
        conn.execute(text("SELECT CAST(:n AS bigint)"), {"n": "9" * 30})
    code, message = describe_failure(info.value)
    assert code == EXIT_INVALID and message.startswith("value out of range for the warehouse: ")
    assert describe_failure(InvalidVideoInput("x", "bad"))[0] == EXIT_INVALID
    assert describe_failure(DatabaseUnavailableError("down"))[0] == EXIT_FAILURE
    assert describe_failure(KeyError("a bug")) is None
