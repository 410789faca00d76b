"""Facts about this deployment, stored once in the warehouse (``ytmetrics.deployment``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, text

PARTITIONS_START = "partitions_start"


def partitions_start(engine: Engine) -> date:
    """The deployment's first day: written by the migration that created the table (the day
    the warehouse was first migrated, or its earliest data)."""
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT value FROM ytmetrics.deployment WHERE key = :k"), {"k": PARTITIONS_START}
        ).scalar_one()
    return date.fromisoformat(value)


def get_setting(engine: Engine, key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT value FROM ytmetrics.deployment WHERE key = :k"), {"k": key}
        ).scalar()


def set_setting(engine: Engine, key: str, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.deployment (key, value) VALUES (:k, :v) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, set_at = now()"
            ),
            {"k": key, "v": value},
        )
