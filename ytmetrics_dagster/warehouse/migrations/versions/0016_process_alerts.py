"""The 'process' alert kind: a program `make run` supervises died, keeps dying while it starts,
or was given up on (recorded by ytmetrics_dagster/runtime/watchdog.py).

The kinds allowed are read from the constraint as it stands and 'process' added (removed on
downgrade), so this composes with other migrations that add kinds of their own.

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-06
"""

import re

from alembic import op
from psycopg import sql
from sqlalchemy import text

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KIND = "process"


def _kinds() -> list[str]:
    definition = (
        op.get_bind()
        .execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'alerts_kind_check' "
                "AND conrelid = 'ytmetrics.alerts'::regclass"
            )
        )
        .scalar_one()
    )
    return re.findall(r"'([^']+)'", definition)


def _replace(kinds: list[str]) -> None:
    # DDL takes no bound parameters: the kinds are quoted as literals by psycopg
    statement = sql.SQL(
        "ALTER TABLE ytmetrics.alerts DROP CONSTRAINT alerts_kind_check, "
        "ADD CONSTRAINT alerts_kind_check CHECK (kind IN ({}))"
    ).format(sql.SQL(", ").join(sql.Literal(kind) for kind in kinds))
    op.execute(statement.as_string(op.get_bind().connection.driver_connection))


def upgrade() -> None:
    kinds = _kinds()
    if KIND not in kinds:
        _replace([*kinds, KIND])


def downgrade() -> None:
    op.execute(text("DELETE FROM ytmetrics.alerts WHERE kind = :kind").bindparams(kind=KIND))
    _replace([kind for kind in _kinds() if kind != KIND])
