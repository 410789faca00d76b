"""The result models' conversions (the one JSON encoder) and the shared wording of the surfaces, as pure logic (plus one real
database error)."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.surfaces import results
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


class Nested(results.Result):
    x: results.Rate


class Row(results.Result):
    v: results.Count


class Shape(results.Result):
    n: results.Count
    rate: results.Rate
    at: results.Timestamp
    ok: results.Flag
    name: results.Text
    rows: results.Rows(Row)
    tags: results.Rows(results.Text)
    nested: Nested | None


def _one(kind):
    return type("One", (results.Result,), {"__annotations__": {"v": kind}})


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (results.Count, Decimal("12345"), 12345),  # numeric sum of bigints
        (results.Count, np.int64(7), 7),
        (results.Count, 7.0, 7),  # an int column with NULLs became float64
        (results.Count, pd.NA, None),
        (results.Count, float("nan"), None),
        (results.Rate, Decimal("12.5"), 12.5),
        (results.Rate, np.float64(0.25), 0.25),
        (results.Rate, 3, 3.0),
        (results.Rate, float("inf"), None),
        (results.Flag, np.bool_(True), True),
        (results.Text, None, None),
        (results.Timestamp, pd.Timestamp("2026-11-20 05:00", tz="UTC"), "2026-11-20T05:00:00Z"),
        (results.Timestamp, datetime(2026, 11, 20, 5, 0, 0, 999999), "2026-11-20T05:00:00Z"),
        (
            results.Timestamp,
            datetime(2026, 11, 20, 7, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-20T05:00:00Z",
        ),
        (results.Timestamp, "2026-11-20T05:00:00+00:00", "2026-11-20T05:00:00Z"),
        (results.Timestamp, "2026-11-20T05:00:00.000Z", "2026-11-20T05:00:00Z"),
        (results.Timestamp, pd.NaT, None),
    ],
)
def test_every_kind_converts_to_one_json_type(kind, value, expected):
    converted = _one(kind).model_validate({"v": value}).json_dict()["v"]
    assert converted == expected and type(converted) is type(expected)


def test_a_model_keeps_exactly_its_keys_and_reads_frames():
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
    payload = Shape.model_validate(value).json_dict()
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
    assert json.loads(results.dumps(payload)) == payload
    assert Shape.model_validate({}).json_dict()["rows"] == []  # arrays are never null


def test_the_read_api_s_values_are_converted_once_for_the_dashboard():
    assert results.plain(np.int64(3)) == 3 and type(results.plain(np.int64(3))) is int
    assert results.plain(Decimal("1.5")) == 1.5
    assert results.plain(pd.NaT) is None and results.plain(np.float64("nan")) is None
    at = results.plain(pd.Timestamp("2026-11-20 05:00", tz="UTC"))
    assert type(at) is datetime
    assert results.jsonable({"a": [at, np.bool_(False)]}) == {"a": ["2026-11-20T05:00:00Z", False]}


def test_numpy_scalars_of_every_kind_are_recognised_without_pandas_checks():
    assert results.missing(np.float32("nan")) and results.missing(np.datetime64("NaT"))
    assert not results.missing(np.int64(0)) and not results.missing(np.array([np.nan]))
    one = _one(results.Timestamp).model_validate({"v": np.datetime64("2026-11-20T05:00:07.5")})
    assert one.json_dict() == {"v": "2026-11-20T05:00:07Z"}
    assert results.plain(np.datetime64("2026-11-20T05:00")) == datetime(2026, 11, 20, 5, 0)


def test_describe_names_the_parts_it_uses():
    assert results.describe(results.Top).startswith('TOP = {"hours": integer, "limit": integer')
    assert '"videos": [TOP_ROW, …]' in results.describe(results.Top)
    assert '"from": integer' in results.describe(results.GrowthOf)
    assert all(len(line) <= 96 for line in results.reference().splitlines())


def test_the_results_module_does_not_import_pandas():
    code = (
        "import sys; import ytmetrics_dagster.surfaces.results; "
        "assert 'pandas' not in sys.modules, 'pandas imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


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
