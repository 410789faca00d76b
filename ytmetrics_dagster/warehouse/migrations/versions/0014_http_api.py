"""The HTTP API: its tokens (hashed), the collect-now queue, and alerts a person acknowledges.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- Only the sha256 of a token is stored: the secret is shown once, when created.
        CREATE TABLE ytmetrics.api_tokens (
            token_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
            read_only    boolean NOT NULL DEFAULT false,
            created_at   timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at   timestamptz
        );
        CREATE UNIQUE INDEX api_tokens_active_name_idx
            ON ytmetrics.api_tokens (name) WHERE revoked_at IS NULL;

        -- "Collect now": one video observed into the hour in progress by the Dagster run that
        -- collection_requests_sensor launches (the same pool, ledger and snapshot write).
        CREATE TABLE ytmetrics.collection_requests (
            request_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            video_id      varchar(11) NOT NULL CHECK (video_id ~ '^[A-Za-z0-9_-]{11}$'),
            status        text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'collected', 'failed')),
            reason        text,
            requested_by  text NOT NULL DEFAULT 'api',
            requested_at  timestamptz NOT NULL DEFAULT now(),
            snapshot_hour timestamptz,
            resolved_at   timestamptz,
            run_id        text
        );
        CREATE INDEX collection_requests_pending_idx
            ON ytmetrics.collection_requests (request_id) WHERE status = 'pending';
        -- a run replacing an hour observes again the videos collected into it on request
        CREATE INDEX collection_requests_collected_idx
            ON ytmetrics.collection_requests (snapshot_hour) WHERE status = 'collected';

        ALTER TABLE ytmetrics.alerts
            ADD COLUMN acknowledged_at timestamptz,
            ADD COLUMN acknowledged_by text;
        CREATE INDEX alerts_unacknowledged_idx
            ON ytmetrics.alerts (created_at DESC) WHERE acknowledged_at IS NULL;

        COMMENT ON TABLE ytmetrics.api_tokens IS
            'Tokens of the HTTP API (/api/v1), made and revoked by `ytmetrics tokens`; only the '
            'sha256 of each secret is kept.';
        COMMENT ON COLUMN ytmetrics.api_tokens.token_id IS 'The token''s number.';
        COMMENT ON COLUMN ytmetrics.api_tokens.name IS
            'Who or what holds it (unique among tokens not revoked).';
        COMMENT ON COLUMN ytmetrics.api_tokens.token_sha256 IS
            'sha256 (hex) of the secret; the secret itself is never stored.';
        COMMENT ON COLUMN ytmetrics.api_tokens.read_only IS
            'true: the token may read but not write (writes answer 403).';
        COMMENT ON COLUMN ytmetrics.api_tokens.created_at IS 'When it was created.';
        COMMENT ON COLUMN ytmetrics.api_tokens.last_used_at IS
            'When it last authenticated a request (at most once a minute is recorded).';
        COMMENT ON COLUMN ytmetrics.api_tokens.revoked_at IS
            'When it was revoked; a revoked token authenticates nothing.';

        COMMENT ON TABLE ytmetrics.collection_requests IS
            'Requests to observe one tracked video into the hour in progress now ("collect '
            'now", POST /api/v1/videos/{video}/collect); collection_requests_sensor hands them '
            'to video_metric_snapshots, which records each verdict.';
        COMMENT ON COLUMN ytmetrics.collection_requests.request_id IS 'The request''s number.';
        COMMENT ON COLUMN ytmetrics.collection_requests.video_id IS 'The video to observe.';
        COMMENT ON COLUMN ytmetrics.collection_requests.status IS
            'pending, collected (the hour holds an observation of it), or failed (see reason).';
        COMMENT ON COLUMN ytmetrics.collection_requests.reason IS
            'Why it failed, or a note on a collected request (e.g. already observed).';
        COMMENT ON COLUMN ytmetrics.collection_requests.requested_by IS
            'Which surface asked (api, cli).';
        COMMENT ON COLUMN ytmetrics.collection_requests.requested_at IS 'When it was asked.';
        COMMENT ON COLUMN ytmetrics.collection_requests.snapshot_hour IS
            'The UTC hour the video was observed into.';
        COMMENT ON COLUMN ytmetrics.collection_requests.resolved_at IS
            'When the verdict was recorded.';
        COMMENT ON COLUMN ytmetrics.collection_requests.run_id IS
            'The Dagster run that gave the verdict.';

        COMMENT ON COLUMN ytmetrics.alerts.acknowledged_at IS
            'When a person acknowledged it (`ytmetrics alerts ack`, the API); NULL: not yet, '
            'and the dashboard says so.';
        COMMENT ON COLUMN ytmetrics.alerts.acknowledged_by IS
            'Who acknowledged it (cli, or the API token''s name).';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ytmetrics.alerts_unacknowledged_idx;
        ALTER TABLE ytmetrics.alerts DROP COLUMN acknowledged_by, DROP COLUMN acknowledged_at;
        DROP TABLE ytmetrics.collection_requests;
        DROP TABLE ytmetrics.api_tokens;
        """
    )
