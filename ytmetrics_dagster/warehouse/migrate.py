"""Apply and inspect the warehouse's Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.warehouse.locks import xact_lock

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDateError(RuntimeError):
    pass


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table_schema": "ytmetrics"})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Migrate under a lock, so two processes starting at once upgrade one after the other."""
    with engine.begin() as conn:
        xact_lock(conn, locks.MIGRATIONS)
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine) or ""


def downgrade(engine: Engine, revision: str) -> str:
    with engine.begin() as conn:
        xact_lock(conn, locks.MIGRATIONS)
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return current_revision(engine) or ""


def require_current(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDateError(
            f"warehouse schema is at revision {current or 'none'}, code expects {head}: "
            "run `ytmetrics db upgrade`"
        )
