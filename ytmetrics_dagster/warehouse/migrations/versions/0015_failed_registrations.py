"""Registration requests can end 'failed': YouTube could not be asked (the API unreachable, the
key invalid, the quota spent), and ``reason`` says which, so the person waiting reads the
cause instead of waiting out a timeout. Unlike 'rejected' (YouTube's answer about the video),
a failed request says nothing about the video: registering it again queues a new request, and
the channel uploads sensor queues a failed upload again on its next poll.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ytmetrics.registration_requests
            DROP CONSTRAINT registration_requests_status_check;
        ALTER TABLE ytmetrics.registration_requests
            ADD CONSTRAINT registration_requests_status_check
            CHECK (status IN ('pending', 'registered', 'rejected', 'failed'));
        COMMENT ON COLUMN ytmetrics.registration_requests.status IS
            'pending | registered | rejected (YouTube did not return the video) | failed '
            '(YouTube could not be asked: unreachable, key invalid, quota spent)';
        COMMENT ON COLUMN ytmetrics.registration_requests.reason IS
            'why it was rejected or failed, whole (e.g. YouTube did not return the id; YouTube '
            'API unreachable: connection refused to host:port)';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE ytmetrics.registration_requests SET status = 'rejected' WHERE status = 'failed';
        ALTER TABLE ytmetrics.registration_requests
            DROP CONSTRAINT registration_requests_status_check;
        ALTER TABLE ytmetrics.registration_requests
            ADD CONSTRAINT registration_requests_status_check
            CHECK (status IN ('pending', 'registered', 'rejected'));
        COMMENT ON COLUMN ytmetrics.registration_requests.status IS
            'pending | registered | rejected';
        COMMENT ON COLUMN ytmetrics.registration_requests.reason IS
            'why it was rejected (e.g. YouTube did not return the id)';
        """
    )
