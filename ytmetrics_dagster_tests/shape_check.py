"""Check a JSON payload against its result model (ytmetrics_dagster.surfaces.results): exactly
the model's keys in order, and every value of its documented kind or null. Checked field by
field from the models' declarations, not by validating with them (validation converts)."""

from __future__ import annotations

import re
import types
from typing import Union, get_args, get_origin

from pydantic import BaseModel

from ytmetrics_dagster.surfaces import results

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_TYPES = {"integer": int, "number": float, "string": str, "boolean": bool}


def _kind_of(metadata) -> str | None:
    return next((m.name for m in metadata if isinstance(m, results._Kind)), None)


def _check_value(value, annotation, metadata, path: str, filled: set[str]) -> None:
    kind = _kind_of(metadata)
    if kind is not None:
        if value is None:
            return
        if kind == "timestamp":
            assert isinstance(value, str) and TIMESTAMP.match(value), f"{path}: {value!r}"
        else:
            # type(), not isinstance: a bool is not an integer here, an int is not a float
            assert type(value) is _TYPES[kind], f"{path}: {value!r} is not {kind}"
        filled.add(path)
        return
    origin = get_origin(annotation)
    if origin is dict:  # named entries: string keys, each value of the declared kind
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        _, item = get_args(annotation)
        item_metadata = getattr(item, "__metadata__", ())
        item_type = get_args(item)[0] if item_metadata else item
        for key, element in value.items():
            assert isinstance(key, str), f"{path}: key {key!r}"
            _check_value(element, item_type, item_metadata, f"{path}.{{}}", filled)
        return
    if origin is list:
        assert isinstance(value, list), f"{path}: expected an array, got {value!r}"
        (item,) = get_args(annotation)
        item_metadata = getattr(item, "__metadata__", ())
        item_type = get_args(item)[0] if item_metadata else item
        for element in value:
            _check_value(element, item_type, item_metadata, f"{path}[]", filled)
        return
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in get_args(annotation) if a is not type(None)]
        if value is None:
            return
        annotation = inner
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel), annotation
    check_shape(value, annotation, path, filled)


def check_shape(value, model: type[BaseModel], path: str = "$", filled=None) -> set[str]:
    """Assert ``value`` has ``model``'s shape; return the paths (``$.videos[].views``) that held
    a non-null value somewhere, so a test can require that the data exercised them."""
    filled = set() if filled is None else filled
    if value is None:
        return filled
    keys = [field.alias or name for name, field in model.model_fields.items()]
    assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
    assert list(value) == keys, f"{path}: keys {list(value)} != {keys}"
    filled.add(path)
    for key, field in zip(keys, model.model_fields.values(), strict=True):
        _check_value(value[key], field.annotation, field.metadata, f"{path}.{key}", filled)
    return filled
