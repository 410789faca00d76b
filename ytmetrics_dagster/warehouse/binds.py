"""An engine or a connection: warehouse functions on a hot path accept either, so that a
caller doing several things in a row (the snapshot asset, once per observed hour) does them on
one pooled connection instead of checking one out (and pinging it) for each."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

Bind = Engine | Connection


@contextlib.contextmanager
def connected(bind: Bind) -> Iterator[Connection]:
    """``bind`` itself if it is a connection, else a connection of the engine for the block."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


@contextlib.contextmanager
def transaction(bind: Bind) -> Iterator[Connection]:
    """A transaction committed when the block ends (rolled back if it raises): on a connection
    (which must not be inside one), or on a connection of the engine."""
    if isinstance(bind, Connection):
        with bind.begin():
            yield bind
        return
    with bind.begin() as conn:
        yield conn
