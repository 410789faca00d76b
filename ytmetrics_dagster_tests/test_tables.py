"""The CLI's table and CSV without pandas print what pandas printed (surfaces/tables.py), and
``Rows.frame()`` is the DataFrame ``pd.read_sql_query`` made of the same query."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.surfaces import results
from ytmetrics_dagster.surfaces.tables import render_csv, render_table
from ytmetrics_dagster.warehouse.frames import Rows

pytestmark = pytest.mark.unit

ROWS = [
    {
        "video_id": "-dQw4w9WgXc",
        "title": 'tabs\tand\nbreaks\r, commas, "quotes"',
        "channel_id": None,
        "channel_title": "ä€ 漢字",
        "published_at": "2026-11-20T05:00:00Z",
        "status": "active",
        "added_at": None,
        "last_updated": "2026-11-21T05:00:00Z",
    },
    {
        "video_id": "abcdefghijk",
        "title": "x" * 150,
        "channel_id": "UC" + "a" * 22,
        "channel_title": "",
        "published_at": None,
        "status": "removed",
        "added_at": "2026-11-20T05:00:00Z",
        "last_updated": None,
    },
]

NUMBERS = [
    {"a": 1, "b": 0.1, "c": True, "d": -3},
    {"a": None, "b": 123456789.123456789, "c": None, "d": 12345678901},
    {"a": 22, "b": 1e-07, "c": False, "d": None},
    {"a": 0, "b": None, "c": True, "d": 0},
    {"a": 5, "b": -2.5, "c": None, "d": 7},
    {"a": 5, "b": 100.0, "c": None, "d": 7},
]


class Numbers(results.Result):
    a: results.Count
    b: results.Rate
    c: results.Flag
    d: results.Count


def pandas_table(rows, model) -> str:
    """What the CLI printed with pandas (before surfaces/tables.py)."""
    frame = results.table(rows, model)
    frame = frame.astype(object).where(frame.notna(), "")
    return frame.to_string(index=False)


@pytest.mark.parametrize(
    ("rows", "model"),
    [(ROWS, results.VideoRow), (ROWS[:1], results.VideoRow), (NUMBERS, Numbers)],
    ids=["videos", "one row", "numbers"],
)
def test_table_and_csv_are_what_pandas_printed(rows, model):
    rows = [model.model_validate(r).json_dict() for r in rows]
    columns = list(results.kinds(model))
    assert render_table(rows, columns) == pandas_table(rows, model)
    assert render_csv(rows, columns) == results.table(rows, model).to_csv(index=False)


def test_an_empty_csv_is_its_header():
    columns = list(results.kinds(results.VideoRow))
    expected = results.table([], results.VideoRow).to_csv(index=False)
    assert render_csv([], columns) == expected == ",".join(columns) + "\n"


QUERY = """
SELECT * FROM (VALUES
    (1, CAST('2026-11-20 05:00:00+02' AS timestamptz), CAST(NULL AS bigint), CAST(1.5 AS numeric),
     'a', true, CAST('2026-11-20' AS date)),
    (2, CAST(NULL AS timestamptz), CAST(7 AS bigint), CAST(NULL AS numeric), NULL, NULL, NULL)
) AS t(id, at, n, x, s, flag, day)
WHERE id <= :upto
ORDER BY id
"""


@pytest.mark.db
@pytest.mark.parametrize("upto", [2, 1, 0], ids=["with nulls", "no nulls", "empty"])
def test_rows_frame_is_read_sql_query(engine, upto):
    with engine.connect() as conn:
        expected = pd.read_sql_query(text(QUERY), conn, params={"upto": upto})
        rows = Rows.of(conn.execute(text(QUERY), {"upto": upto}))
    assert rows.columns == ("id", "at", "n", "x", "s", "flag", "day")
    assert len(rows) == upto
    pd.testing.assert_frame_equal(rows.frame(), expected)
