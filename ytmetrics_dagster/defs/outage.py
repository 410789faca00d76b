"""Sensors skip quietly while the warehouse is down: one log line when it goes, one when it is
back (warehouse/health.py), instead of a traceback on every tick of every sensor."""

from __future__ import annotations

import functools

import dagster as dg
from sqlalchemy.exc import OperationalError

from ytmetrics_dagster.warehouse import health
from ytmetrics_dagster.warehouse.embedded import WarehouseStartError
from ytmetrics_dagster.warehouse.engine import DatabaseUnavailableError

WAREHOUSE_DOWN = (DatabaseUnavailableError, WarehouseStartError, OperationalError)


def skips_while_warehouse_down(fn):
    """Decorate a sensor function (under ``@dg.sensor``): a warehouse outage becomes a
    SkipReason and at most one log line per change of state. Signature kept for Dagster."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WAREHOUSE_DOWN as err:
            warehouse = kwargs.get("warehouse")
            where = warehouse.where() if warehouse is not None else "warehouse"
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            health.report_down(where, first[:300])
            return dg.SkipReason("the warehouse is unavailable")

    return wrapper
