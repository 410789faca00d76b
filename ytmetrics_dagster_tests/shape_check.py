"""Check a JSON payload against its documented shape (ytmetrics_dagster.surfaces.output): exactly the
documented keys in order, and every value of its kind or null."""

from __future__ import annotations

import re

from ytmetrics_dagster.surfaces import output

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_TYPES = {output.INT: int, output.FLOAT: float, output.STR: str, output.BOOL: bool}


def check_shape(value, shape, path: str = "$", filled: set[str] | None = None) -> set[str]:
    """Assert ``value`` has ``shape``; return the paths (``$.videos[].views``) that held a
    non-null value somewhere, so a test can require that the data exercised them."""
    filled = set() if filled is None else filled
    if isinstance(shape, dict):
        if value is None:
            return filled
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        assert list(value) == list(shape), f"{path}: keys {list(value)} != {list(shape)}"
        filled.add(path)
        for key, sub in shape.items():
            check_shape(value[key], sub, f"{path}.{key}", filled)
    elif isinstance(shape, list):
        assert isinstance(value, list), f"{path}: expected an array, got {value!r}"
        for item in value:
            check_shape(item, shape[0], f"{path}[]", filled)
    elif value is not None:
        if shape == output.TIME:
            assert isinstance(value, str) and TIMESTAMP.match(value), f"{path}: {value!r}"
        else:
            # type(), not isinstance: a bool is not an integer here, an int is not a float
            assert type(value) is _TYPES[shape], f"{path}: {value!r} is not {shape}"
        filled.add(path)
    return filled
