"""Alerts: failed collection runs, quota use, viral videos.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.alerts (
            alert_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            created_at     timestamptz NOT NULL DEFAULT now(),
            kind           text NOT NULL CHECK (kind IN ('run_failure', 'quota', 'viral')),
            dedupe_key     text NOT NULL UNIQUE,
            message        text NOT NULL,
            details        jsonb NOT NULL DEFAULT '{}'::jsonb,
            delivered_at   timestamptz,
            delivery_error text
        );
        CREATE INDEX alerts_created_idx ON ytmetrics.alerts (created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ytmetrics.alerts")
