"""Alert delivery outside sensor ticks (state, attempts, backoff). The 'capacity' kind is
allowed since 0008.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Alerts are recorded by sensors and delivered later by alert_delivery_sensor: each
    # attempt is counted, failures wait next_attempt_at (exponential backoff), and an alert
    # that exhausts its attempts (or is too old to matter) becomes 'undeliverable'.
    op.execute(
        """
        ALTER TABLE ytmetrics.alerts
            ADD COLUMN delivery_state text NOT NULL DEFAULT 'pending'
                CHECK (delivery_state IN ('pending', 'delivered', 'undeliverable')),
            ADD COLUMN delivery_attempts integer NOT NULL DEFAULT 0
                CHECK (delivery_attempts >= 0),
            ADD COLUMN next_attempt_at timestamptz;
        -- alerts of the synchronous era: delivered, or already retried and given up on
        UPDATE ytmetrics.alerts SET
            delivery_state = CASE WHEN delivered_at IS NOT NULL THEN 'delivered'
                                  WHEN delivery_error IS NOT NULL THEN 'undeliverable'
                                  ELSE 'pending' END,
            delivery_attempts = CASE WHEN delivered_at IS NOT NULL OR delivery_error IS NOT NULL
                                     THEN 1 ELSE 0 END;
        CREATE INDEX alerts_pending_delivery_idx
            ON ytmetrics.alerts (created_at, alert_id) WHERE delivery_state = 'pending';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ytmetrics.alerts_pending_delivery_idx;
        ALTER TABLE ytmetrics.alerts
            DROP COLUMN next_attempt_at,
            DROP COLUMN delivery_attempts,
            DROP COLUMN delivery_state;
        """
    )
