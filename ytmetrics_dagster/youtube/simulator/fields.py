"""Partial responses: the ``fields`` query parameter, as Google's APIs document it.

    fields=items(id,statistics(viewCount,likeCount))   sub-selection of each item
    fields=nextPageToken,items/contentDetails/videoId  comma lists and a/b/c paths
    fields=items(*)  or  items/snippet/*               wildcards

A selection is parsed into a tree (``{name: subtree or None}``, None meaning the whole value),
checked against the method's name tree (an unknown name is the API's 400 "Invalid field
selection"), then applied to the response: only selected properties remain, arrays keep their
elements, and objects whose selected properties are all absent disappear.
"""

from __future__ import annotations

import re

from ytmetrics_dagster.youtube.simulator.schema import ANY

Selection = dict[str, "Selection | None"]

_TOKEN = re.compile(r"\s*([,/()]|[^,/()\s]+)\s*")
_NAME = re.compile(r"^(\*|[A-Za-z_@$][A-Za-z0-9_@$.-]*)$")


class FieldSelectionError(ValueError):
    """``str(error)`` is the offending part of the selection."""


def _merge(into: Selection, key: str, sub: Selection | None) -> None:
    if key in into:
        current = into[key]
        if current is None or sub is None:
            into[key] = None
        else:
            for k, v in sub.items():
                _merge(current, k, v)
    else:
        into[key] = sub


def parse(text: str) -> Selection:
    """Parse a ``fields`` value; raise FieldSelectionError on a syntax error."""
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or not match.group(1):
            raise FieldSelectionError(text[pos:].strip() or text)
        tokens.append(match.group(1))
        pos = match.end()
    if not tokens:
        raise FieldSelectionError(text)

    def name(i: int) -> tuple[str, int]:
        if i >= len(tokens) or not _NAME.match(tokens[i]):
            raise FieldSelectionError(tokens[i] if i < len(tokens) else text)
        return tokens[i], i + 1

    def selection(i: int) -> tuple[str, Selection | None, int]:
        path = []
        first, i = name(i)
        path.append(first)
        while i < len(tokens) and tokens[i] == "/":
            part, i = name(i + 1)
            path.append(part)
        leaf: Selection | None = None
        if i < len(tokens) and tokens[i] == "(":
            leaf, i = selection_list(i + 1)
            if i >= len(tokens) or tokens[i] != ")":
                raise FieldSelectionError(text)
            i += 1
        for part in reversed(path[1:]):
            leaf = {part: leaf}
        return path[0], leaf, i

    def selection_list(i: int) -> tuple[Selection, int]:
        tree: Selection = {}
        while True:
            key, sub, i = selection(i)
            _merge(tree, key, sub)
            if i < len(tokens) and tokens[i] == ",":
                i += 1
                continue
            return tree, i

    tree, end = selection_list(0)
    if end != len(tokens):
        raise FieldSelectionError(tokens[end])
    return tree


def validate(selection: Selection, names: dict, path: str = "") -> None:
    """Reject names the resource does not have, or a selection inside a scalar."""
    for key, sub in selection.items():
        where = f"{path}{key}"
        if key == "*":
            if sub is not None:
                for child in names.values():
                    if isinstance(child, dict):
                        validate(sub, child, where + "/")
            continue
        if key not in names:
            raise FieldSelectionError(where)
        child = names[key]
        if sub is None or child == ANY:
            continue
        if child is None:
            raise FieldSelectionError(where + "/" + next(iter(sub)))
        validate(sub, child, where + "/")


def apply(data, selection: Selection | None):
    """The part of ``data`` that ``selection`` selects."""
    if selection is None:
        return data
    if isinstance(data, list):
        return [apply(element, selection) for element in data]
    if not isinstance(data, dict):
        return data
    wildcard = "*" in selection
    out = {}
    for key, value in data.items():
        if key in selection:
            sub = selection[key]
            if wildcard:
                sub = None if sub is None or selection["*"] is None else {**sub, **selection["*"]}
        elif wildcard:
            sub = selection["*"]
        else:
            continue
        picked = apply(value, sub)
        if isinstance(value, dict) and sub is not None and not picked:
            continue
        out[key] = picked
    return out
