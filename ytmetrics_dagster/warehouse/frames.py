"""A query's rows as plain dicts, and the DataFrame pandas' ``read_sql_query`` made of them.

A read function runs its query once and returns ``Rows``; the CLI renders them as they are
(no pandas), a surface that wants a DataFrame (dashboard, notebook, API) asks ``.frame()``:
the same rows, never a second copy of the query.
"""

from __future__ import annotations

from typing import Any


class Rows(list):
    """A query's rows (dicts, in the query's column order) and its columns, known for an
    empty result too."""

    columns: tuple[str, ...]

    def __init__(self, rows: Any = (), columns: tuple[str, ...] = ()) -> None:
        super().__init__(rows)
        self.columns = tuple(columns)

    @classmethod
    def of(cls, result: Any) -> Rows:
        """A SQLAlchemy result's rows, read whole."""
        columns = tuple(result.keys())
        return cls((dict(m) for m in result.mappings()), columns)

    def frame(self) -> Any:
        """What ``pd.read_sql_query`` returned for the same query: ``from_records`` with
        decimals coerced to floats, and time-zone-aware timestamps converted to UTC."""
        import pandas as pd

        frame = pd.DataFrame.from_records(
            [tuple(row[c] for c in self.columns) for row in self],
            columns=list(self.columns),
            coerce_float=True,
        )
        for i, (_, column) in enumerate(frame.items()):
            if isinstance(column.dtype, pd.DatetimeTZDtype):
                frame.isetitem(i, pd.to_datetime(column, utc=True))
        return frame
