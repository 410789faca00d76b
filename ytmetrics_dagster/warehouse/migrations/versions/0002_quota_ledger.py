"""Quota ledger (every API call, by Pacific quota day) and missing-video bookkeeping.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.api_calls (
            call_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            called_at   timestamptz NOT NULL,
            -- YouTube's quota day runs midnight to midnight Pacific time
            quota_day   date NOT NULL,
            method      text NOT NULL,
            bucket      text NOT NULL DEFAULT 'default',
            units       integer NOT NULL CHECK (units >= 0),
            http_status integer,
            reason      text,
            source      text NOT NULL CHECK (source IN ('youtube', 'simulator')),
            run_id      text
        );
        CREATE INDEX api_calls_day_idx ON ytmetrics.api_calls (quota_day, bucket);

        ALTER TABLE ytmetrics.videos
            ADD COLUMN consecutive_misses integer NOT NULL DEFAULT 0,
            ADD COLUMN last_missed_hour timestamptz;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE ytmetrics.videos DROP COLUMN consecutive_misses, DROP COLUMN last_missed_hour;
        DROP TABLE ytmetrics.api_calls;
        """
    )
