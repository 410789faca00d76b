"""Hours that could not be observed, and why. With the real API such an hour is lost for good
(YouTube cannot report the past), so it is recorded, shown and alerted on, never silent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.alerts import record_alert


def record_missed_hour(
    engine: Engine, hour: datetime, reason: str, run_id: str | None, videos_due: int | None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.missed_hours (snapshot_hour, reason, run_id, videos_due)
                VALUES (:hour, :reason, :run_id, :due)
                ON CONFLICT (snapshot_hour) DO UPDATE SET
                    reason = EXCLUDED.reason, run_id = EXCLUDED.run_id,
                    videos_due = EXCLUDED.videos_due, recorded_at = now(),
                    attempts = ytmetrics.missed_hours.attempts + 1
                """
            ),
            {"hour": hour, "reason": reason[:2000], "run_id": run_id, "due": videos_due},
        )
    record_alert(
        engine,
        "missed_hour",
        f"missed_hour:{hour.isoformat()}",
        f"hour {hour:%Y-%m-%d %H:00} UTC was not observed ({videos_due or 0} videos due): "
        f"{reason[:500]}",
        {"snapshot_hour": hour.isoformat(), "run_id": run_id, "videos_due": videos_due},
    )


def clear_missed_hour(engine: Engine, hour: datetime) -> None:
    """The hour was observed after all (a later attempt inside the hour succeeded)."""
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM ytmetrics.missed_hours WHERE snapshot_hour = :hour"), {"hour": hour}
        )
