"""Apply and inspect the warehouse's Alembic migrations.

Alembic is imported by what migrates, not with this module: ``require_current``, which every
CLI command, the MCP server and the dashboard run first, reads the version table and the
migration files' own revision lines without it (loading Alembic costs a CLI call ~0.1 s)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.warehouse.locks import xact_lock

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# `revision = "0016"` / `down_revision = "0015"` (optionally annotated), as Alembic writes them
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


class SchemaOutOfDateError(RuntimeError):
    pass


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table_schema": "ytmetrics"})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Migrate under a lock, so two processes starting at once upgrade one after the other."""
    from alembic import command

    with engine.begin() as conn:
        xact_lock(conn, locks.MIGRATIONS)
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine) or ""


def downgrade(engine: Engine, revision: str) -> str:
    from alembic import command

    with engine.begin() as conn:
        xact_lock(conn, locks.MIGRATIONS)
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return current_revision(engine) or ""


def _head_from_files() -> str:
    """The one revision no migration file names as its ``down_revision``: what Alembic's
    ``get_current_head`` answers, read from the files' assignment lines. Anything unusual (a
    line that is not a literal, a branch) is left to Alembic, which says what is wrong."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        for path in sorted((MIGRATIONS / "versions").glob("*.py")):
            if path.name.startswith("_"):
                continue
            found = {m.group(1): m.group(2) for m in _REVISION_LINE.finditer(path.read_text())}
            revisions.add(ast.literal_eval(found["revision"]))
            down = ast.literal_eval(found["down_revision"])
            parents.update(down if isinstance(down, tuple | list) else [down] if down else [])
    except (KeyError, ValueError, SyntaxError):
        return head_revision()
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else head_revision()


def _stored_revision(engine: Engine) -> str | None:
    """The revision in the version table (None before the first migration); what Alembic's
    ``MigrationContext.get_current_revision`` reads."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('ytmetrics.alembic_version')")).scalar() is None:
            return None
        stored = conn.execute(text("SELECT version_num FROM ytmetrics.alembic_version")).scalars()
        return ", ".join(sorted(stored)) or None


def require_current(engine: Engine) -> None:
    current, head = _stored_revision(engine), _head_from_files()
    if current != head:
        raise SchemaOutOfDateError(
            f"warehouse schema is at revision {current or 'none'}, code expects {head}: "
            "run `ytmetrics db upgrade`"
        )
