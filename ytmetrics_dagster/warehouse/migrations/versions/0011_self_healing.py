"""Self-healing records (issue #22): why an hour was missed, in a word; alerts that resolve.

- ``missed_hours.cause``: the kind of loss in one word group, for counting and display:
  'no run' (nothing tried), 'runs failed' (every attempt died or failed), 'warehouse
  unavailable', 'quota', 'rate limited', 'deadline', or 'failed' (a step's own failure; the
  ``reason`` column says why). NULL for rows recorded before this revision.
- ``alerts.resolved_at``: set when what the alert reported stopped being true (a missed hour
  observed after all by a later attempt). The alert stays, for the record.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ytmetrics.missed_hours ADD COLUMN cause text;
        COMMENT ON COLUMN ytmetrics.missed_hours.cause IS
            'kind of loss: no run | runs failed | warehouse unavailable | quota | rate limited '
            '| deadline | failed (NULL: recorded before revision 0011)';
        ALTER TABLE ytmetrics.alerts ADD COLUMN resolved_at timestamptz;
        COMMENT ON COLUMN ytmetrics.alerts.resolved_at IS
            'when what the alert reported stopped being true (e.g. the missed hour was '
            'observed after all); NULL: still true';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE ytmetrics.alerts DROP COLUMN resolved_at;
        ALTER TABLE ytmetrics.missed_hours DROP COLUMN cause;
        """
    )
