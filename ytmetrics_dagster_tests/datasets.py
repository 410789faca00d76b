"""One built dataset read by several test modules (the dashboard's history and its JSON twins):
built once per test process while the warehouse still holds exactly it.

A module-scoped fixture is built again for every module that uses it, although a module that
only reads it could read the one the previous module built. ``shared_dataset`` keeps what the
build returned with a fingerprint of every row of the warehouse's tables; the next module gets
the kept value only if the warehouse still has the same rows, and a new build otherwise (any
test in between, e.g. the per-test ``engine`` fixture emptying the tables, changes them).
Under ``make test-fast`` the modules of one dataset run one after the other on one worker
(xdist_groups.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine, text

from .conftest import TABLES

if TYPE_CHECKING:
    from ytmetrics_dagster.youtube.simulator import SimulatorServer

T = TypeVar("T")

_FINGERPRINT = text(
    "SELECT md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) FROM ("
    + " UNION ALL ".join(
        f"SELECT '{t}:' || t::text AS r FROM ytmetrics.{t} t" for t in (*TABLES, "deployment")
    )
    + ") rows"
)

_kept: dict[tuple[str, str, str], tuple[str, object]] = {}


def fingerprint(engine: Engine) -> str:
    """A digest of every row of the warehouse's tables."""
    with engine.connect() as conn:
        return conn.execute(_FINGERPRINT).scalar_one()


def shared_dataset(engine: Engine, name: str, build: Callable[[], T]) -> T:
    """``build()``'s value, kept from an earlier build if the warehouse still holds exactly
    what that build left, in the same UTC hour (a dataset may be relative to the hour or the
    day it is built in; ``name`` tells the datasets apart)."""
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")
    key = (engine.url.render_as_string(hide_password=False), name, hour)
    if key in _kept:
        digest, value = _kept[key]
        if fingerprint(engine) == digest:
            return value  # type: ignore[return-value]
    value = build()
    _kept[key] = (fingerprint(engine), value)
    return value


def empty_warehouse(database_url: str, simulator: SimulatorServer) -> tuple[Engine, dict]:
    """What a dataset is built on: every table emptied, the simulator reset, and resources on
    both (the real clock: a dataset's hours are real ones)."""
    from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
    from ytmetrics_dagster.warehouse.engine import get_engine

    engine = get_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join('ytmetrics.' + t for t in TABLES)} CASCADE"))
    simulator.state.reset()
    resources = {
        "youtube": YouTubeResource(
            source="simulator", base_url=simulator.base_url, backoff_factor=0.01
        ),
        "warehouse": WarehouseResource(database_url=database_url),
        "clock": ClockResource(),
    }
    return engine, resources
