"""supervisord's event listener for `make run`: what a dead program means to an operator.

Subscribed to PROCESS_STATE_EXITED (a program died; supervisord restarts it), _BACKOFF (it died
while starting: a crash loop, retried with a growing delay) and _FATAL (supervisord gave up),
and to TICK_60. Each becomes a ``process`` alert in the warehouse (at most one per program and
kind an hour). An alert that cannot be recorded (the warehouse is the thing that died) is kept
and recorded on a later tick, once the warehouse answers. On each tick a FATAL program is
started again: supervisord's own retries last about a minute, a warehouse outage may last
longer, and a deployment left running for months must not stay down for good.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from supervisor import childutils

from ytmetrics_dagster.runtime.stack import ANNOUNCE
from ytmetrics_dagster.settings import load_settings

log = logging.getLogger("ytmetrics.watchdog")
MAX_PENDING = 100
IGNORED = {ANNOUNCE}


def alert_for(event: str, fields: dict[str, str], now: datetime) -> dict | None:
    """The alert an event calls for (kind, dedupe key, message, details), or None."""
    name = fields.get("processname", "?")
    group = fields.get("groupname", name)
    if name in IGNORED:
        return None
    label = name if group == name else f"{group}:{name}"
    if event == "PROCESS_STATE_EXITED":
        if fields.get("expected") == "1":
            return None
        what = "died"
        message = (
            f"`make run`: {label} (pid {fields.get('pid', '?')}) died unexpectedly; "
            "supervisord restarted it"
        )
    elif event == "PROCESS_STATE_BACKOFF":
        what = "crash_loop"
        message = (
            f"`make run`: {label} keeps dying while it starts (attempt "
            f"{fields.get('tries', '?')}); supervisord retries with a growing delay"
        )
    elif event == "PROCESS_STATE_FATAL":
        what = "gave_up"
        message = (
            f"`make run`: {label} could not be started (too many failed attempts in a row); "
            "the watchdog starts it again every minute. See `ytmetrics status` and its log"
        )
    else:
        return None
    hour = now.strftime("%Y-%m-%dT%H")
    return {
        "kind": "process",
        "dedupe_key": f"process:{label}:{what}:{hour}",
        "message": message,
        "details": {"program": label, "event": event, **fields, "at": now.isoformat()},
    }


def _unavailable(err: Exception) -> bool:
    return isinstance(err, OperationalError | InterfaceError) or bool(
        getattr(err, "connection_invalidated", False)
    )


class Watchdog:
    def __init__(self, database_url: str | None, rpc=None):
        self.database_url = database_url
        self.rpc = rpc
        self.pending: list[dict] = []
        self.warehouse_down = False

    def record_pending(self) -> None:
        if not self.pending or not self.database_url:
            return
        from ytmetrics_dagster.warehouse.alerts import record_alert
        from ytmetrics_dagster.warehouse.engine import get_engine

        try:
            engine = get_engine(self.database_url)
            while self.pending:
                alert = self.pending[0]
                record_alert(
                    engine,
                    alert["kind"],
                    alert["dedupe_key"],
                    alert["message"],
                    alert["details"],
                )
                self.pending.pop(0)
                log.info("alert recorded: %s", alert["message"])
        except (OperationalError, InterfaceError, DBAPIError) as err:
            if not _unavailable(err):
                # refused for good (e.g. a schema without the 'process' kind): never retried
                log.warning("alert not recorded: %s", str(err).strip().splitlines()[0])
                self.pending.pop(0)
                return
            # the warehouse is down: keep them for a later tick
            if not self.warehouse_down:
                log.warning(
                    "cannot record %d alerts yet (%s); retrying every minute",
                    len(self.pending),
                    type(err).__name__,
                )
            self.warehouse_down = True
            return
        self.warehouse_down = False

    def restart_fatal(self) -> list[str]:
        if self.rpc is None:
            return []
        started = []
        for info in self.rpc.supervisor.getAllProcessInfo():
            if info["statename"] != "FATAL" or info["name"] in IGNORED:
                continue
            label = f"{info['group']}:{info['name']}"
            try:
                self.rpc.supervisor.startProcess(label, False)
                started.append(label)
                log.info("started %s again after supervisord gave up on it", label)
            except Exception as err:
                log.warning("could not start %s: %s", label, err)
        return started

    def handle(self, event: str, payload: str, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        if event.startswith("TICK"):
            self.restart_fatal()
        else:
            fields = childutils.get_headers(payload.split("\n", 1)[0])
            alert = alert_for(event, fields, now)
            if alert is not None:
                log.info("%s", alert["message"])
                self.pending = (self.pending + [alert])[-MAX_PENDING:]
        self.record_pending()


def main() -> None:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    watchdog = Watchdog(load_settings().database_url, rpc=childutils.getRPCInterface(os.environ))
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        try:
            watchdog.handle(headers["eventname"], payload)
        except Exception:  # never let one event stop the listener
            log.exception("handling %s", headers.get("eventname"))
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
