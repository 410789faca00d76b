"""Pydantic models of the result shapes, made from ``ytmetrics_dagster.surfaces.output`` (the one
definition): they exist only to export the shapes to the OpenAPI document. Every key is always
present; a value may be null, as in every surface's JSON."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ytmetrics_dagster.surfaces import output

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"

_KINDS: dict[str, Any] = {
    output.INT: int,
    output.FLOAT: float,
    output.STR: str,
    output.BOOL: bool,
}


def _shape_name(shape: dict) -> str | None:
    for name, known in output.SHAPES.items():
        if known is shape:
            return name
    return None


def _field_type(shape: Any, hint: str) -> Any:
    if isinstance(shape, list):
        return list[_field_type(shape[0], hint)]
    if isinstance(shape, dict):
        return model(_shape_name(shape) or hint, id(shape)) | None
    if shape == output.TIME:
        return str | None
    return _KINDS[shape] | None


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


@cache
def model(name: str, shape_id: int | None = None) -> type[BaseModel]:
    """The model of a named shape (or of an unnamed nested one, by ``shape_id``)."""
    shape = output.SHAPES.get(name)
    if shape is None or (shape_id is not None and id(shape) != shape_id):
        shape = _nested(shape_id)
    fields: dict[str, Any] = {}
    for key, sub in shape.items():
        hint = name + "_" + key.title().replace("_", "")
        kind = _field_type(sub, hint)
        extra = {"pattern": TIMESTAMP_PATTERN} if sub == output.TIME else {}
        fields[key] = (kind, Field(..., **extra))
    return create_model(name.title().replace("_", ""), __base__=_Shape, **fields)


def _nested(shape_id: int | None) -> dict:
    def walk(shape):
        if isinstance(shape, dict):
            if id(shape) == shape_id:
                return shape
            for sub in shape.values():
                found = walk(sub)
                if found is not None:
                    return found
        elif isinstance(shape, list):
            return walk(shape[0])
        return None

    for shape in output.SHAPES.values():
        found = walk(shape)
        if found is not None:
            return found
    raise KeyError(shape_id)


class Error(BaseModel):
    """Every error: what went wrong, in the words the CLI uses; ``status`` is the HTTP status."""

    model_config = ConfigDict(extra="forbid")
    error: str
    status: int
