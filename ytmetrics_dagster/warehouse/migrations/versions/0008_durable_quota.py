"""Unattended operation: per-attempt ledger rows settled after the answer, atomic quota
reservations, and hours that could not be observed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.quota_reservations (
            reservation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            quota_day      date NOT NULL,
            bucket         text NOT NULL DEFAULT 'default',
            units          integer NOT NULL CHECK (units >= 0),
            purpose        text NOT NULL,
            run_id         text,
            created_at     timestamptz NOT NULL DEFAULT now(),
            -- a reservation of a run that died stops holding units at this time
            expires_at     timestamptz NOT NULL,
            released_at    timestamptz
        );
        CREATE INDEX quota_reservations_open_idx ON ytmetrics.quota_reservations (quota_day, bucket)
            WHERE released_at IS NULL;

        -- a row is written (and committed) before the attempt is sent; the answer settles it
        ALTER TABLE ytmetrics.api_calls
            ADD COLUMN reservation_id bigint REFERENCES ytmetrics.quota_reservations,
            ADD COLUMN settled_at timestamptz;
        UPDATE ytmetrics.api_calls SET settled_at = called_at;
        CREATE INDEX api_calls_reservation_idx ON ytmetrics.api_calls (reservation_id)
            WHERE reservation_id IS NOT NULL;

        CREATE TABLE ytmetrics.missed_hours (
            snapshot_hour timestamptz PRIMARY KEY,
            recorded_at   timestamptz NOT NULL DEFAULT now(),
            reason        text NOT NULL,
            run_id        text,
            videos_due    integer,
            attempts      integer NOT NULL DEFAULT 1
        );

        ALTER TABLE ytmetrics.alerts DROP CONSTRAINT alerts_kind_check;
        ALTER TABLE ytmetrics.alerts ADD CONSTRAINT alerts_kind_check
            CHECK (kind IN ('run_failure', 'quota', 'viral', 'missed_hour', 'capacity', 'freshness'));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM ytmetrics.alerts WHERE kind NOT IN ('run_failure', 'quota', 'viral');
        ALTER TABLE ytmetrics.alerts DROP CONSTRAINT alerts_kind_check;
        ALTER TABLE ytmetrics.alerts ADD CONSTRAINT alerts_kind_check
            CHECK (kind IN ('run_failure', 'quota', 'viral'));
        DROP TABLE ytmetrics.missed_hours;
        ALTER TABLE ytmetrics.api_calls DROP COLUMN reservation_id, DROP COLUMN settled_at;
        DROP TABLE ytmetrics.quota_reservations;
        """
    )
