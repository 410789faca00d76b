"""The CLI's table and CSV formats of a result's rows, with the standard library alone.

The rows are a result model's JSON rows (``Result.json_dict()``): strings, integers, numbers,
booleans and nulls. The table prints what ``DataFrame.to_string(index=False)`` printed for
them (a null empty, every cell right-aligned to its column's width, one space between columns,
tabs and line breaks shown as ``\\t``, ``\\n``, ``\\r``, numbers to 6 decimals without trailing
zeros); the CSV is what ``DataFrame.to_csv(index=False)`` wrote. A read command so never loads
pandas (ytmetrics_dagster_tests/test_tables.py compares both with pandas).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})
_PRECISION = 6  # pandas' display.precision


def _number(value: float) -> str:
    shown = f"{value: .{_PRECISION}f}".rstrip("0")
    return shown + "0" if shown.endswith(".") else shown


def cell(value: Any) -> str:
    """One table cell as pandas showed it in an object column."""
    if value is None:
        return ""
    if isinstance(value, float):
        return _number(value)
    return str(value).translate(_ESCAPES)


def render_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The rows as a right-aligned text table under its header (no trailing newline)."""
    body = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max([len(column), *(len(line[i]) for line in body)]) for i, column in enumerate(columns)
    ]
    lines = [" ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [" ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in body]
    return "\n".join(lines)


def render_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The rows as CSV under a header line (minimal quoting, ``\\n`` line ends, null empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()
