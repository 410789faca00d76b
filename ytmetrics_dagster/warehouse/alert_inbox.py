"""Alerts as a person sees them: listed (unacknowledged first by default) and acknowledged.

Acknowledging is separate from delivery: an alert delivered to a webhook still waits for a
person to acknowledge it, and one never delivered (no webhook) can be acknowledged all the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.frames import Rows
from ytmetrics_dagster.warehouse.read_limits import MAX_ALERTS_LIMIT

if TYPE_CHECKING:
    pass

MAX_LIST_LIMIT = MAX_ALERTS_LIMIT


class UnknownAlertError(LookupError):
    def __init__(self, alert_id: int):
        super().__init__(f"there is no alert {alert_id} (`ytmetrics alerts --all` lists them)")
        self.alert_id = alert_id


def alert_rows(
    engine: Engine, *, include_acknowledged: bool = False, limit: int = 50, offset: int = 0
) -> tuple[Rows, int]:
    """Alerts, newest first (only unacknowledged ones unless ``include_acknowledged``), and
    the total matching."""
    params = {"all": include_acknowledged, "limit": limit, "offset": offset}
    with engine.connect() as conn:
        rows = Rows.of(
            conn.execute(
                text(
                    "SELECT alert_id, kind, message, created_at, delivery_state, delivery_error, "
                    "acknowledged_at, acknowledged_by FROM ytmetrics.alerts "
                    "WHERE :all OR acknowledged_at IS NULL "
                    "ORDER BY created_at DESC, alert_id DESC LIMIT :limit OFFSET :offset"
                ),
                params,
            )
        )
        total = conn.execute(
            text("SELECT count(*) FROM ytmetrics.alerts WHERE :all OR acknowledged_at IS NULL"),
            params,
        ).scalar_one()
    return rows, int(total)


def unacknowledged(engine: Engine) -> tuple[int, dict | None]:
    """(how many alerts wait for a person, the newest of them as a row dict)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) OVER () AS n, alert_id, kind, message, created_at, "
                "delivery_state, delivery_error, acknowledged_at, acknowledged_by "
                "FROM ytmetrics.alerts "
                "WHERE acknowledged_at IS NULL ORDER BY created_at DESC, alert_id DESC LIMIT 1"
            )
        ).first()
    if row is None:
        return 0, None
    newest = dict(row._mapping)
    return int(newest.pop("n")), newest


def acknowledge(engine: Engine, alert_id: int, *, by: str, now: datetime) -> dict:
    """Mark the alert acknowledged (an acknowledged one keeps its first acknowledgement);
    the alert as a row dict. Unknown id -> UnknownAlertError, nothing changed."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "UPDATE ytmetrics.alerts SET acknowledged_at = coalesce(acknowledged_at, :now), "
                "acknowledged_by = coalesce(acknowledged_by, :by) "
                "WHERE alert_id = :id RETURNING alert_id, kind, message, created_at, "
                "delivery_state, delivery_error, acknowledged_at, acknowledged_by"
            ),
            {"id": alert_id, "by": by, "now": now},
        ).first()
    if row is None:
        raise UnknownAlertError(alert_id)
    return dict(row._mapping)
