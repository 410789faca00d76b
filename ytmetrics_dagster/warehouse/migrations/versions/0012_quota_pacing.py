"""Quota pacing: observations deferred for lack of quota, and operators' per-video priority.

- ``deferred_observations``: one row per video and hour a paced run left unobserved because
  the hour's allowance did not cover every due video (issue #19). A whole hour that could not
  be observed at all stays a ``missed_hours`` row.
- ``video_priorities``: videos an operator pinned (``ytmetrics pin``): observed first when an
  hour's allowance is short.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.deferred_observations (
            snapshot_hour timestamptz NOT NULL,
            video_key     integer NOT NULL REFERENCES ytmetrics.videos (video_key)
                          ON DELETE CASCADE,
            reason        text NOT NULL,
            every_hours   integer NOT NULL,
            first_48h     boolean NOT NULL,
            priority_rank integer NOT NULL,
            run_id        text,
            deferred_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (snapshot_hour, video_key)
        );
        CREATE INDEX deferred_observations_video_idx
            ON ytmetrics.deferred_observations (video_key, snapshot_hour DESC);

        CREATE TABLE ytmetrics.video_priorities (
            video_key  integer PRIMARY KEY REFERENCES ytmetrics.videos (video_key)
                       ON DELETE CASCADE,
            priority   integer NOT NULL DEFAULT 1 CHECK (priority > 0),
            pinned_at  timestamptz NOT NULL DEFAULT now(),
            pinned_by  text
        );

        COMMENT ON TABLE ytmetrics.deferred_observations IS
            'Videos due in an hour that its paced snapshot run left unobserved because the '
            'hour''s quota allowance did not cover them all (one row per video and hour).';
        COMMENT ON COLUMN ytmetrics.deferred_observations.snapshot_hour IS
            'the UTC hour the video was due in';
        COMMENT ON COLUMN ytmetrics.deferred_observations.video_key IS
            'the video (ytmetrics.videos.video_key)';
        COMMENT ON COLUMN ytmetrics.deferred_observations.reason IS
            'why it was deferred: the allowance, in units and videos, and what was due';
        COMMENT ON COLUMN ytmetrics.deferred_observations.every_hours IS
            'its cadence interval in that hour (its age tier)';
        COMMENT ON COLUMN ytmetrics.deferred_observations.first_48h IS
            'whether it was in its first 48 hours after publication';
        COMMENT ON COLUMN ytmetrics.deferred_observations.priority_rank IS
            'its place in the hour''s priority order (1 = observed first)';
        COMMENT ON COLUMN ytmetrics.deferred_observations.run_id IS
            'the Dagster run that deferred it';
        COMMENT ON COLUMN ytmetrics.deferred_observations.deferred_at IS
            'when the run decided';
        COMMENT ON TABLE ytmetrics.video_priorities IS
            'Videos an operator pinned (ytmetrics pin): observed before all others when an '
            'hour''s quota allowance is short.';
        COMMENT ON COLUMN ytmetrics.video_priorities.video_key IS
            'the video (ytmetrics.videos.video_key)';
        COMMENT ON COLUMN ytmetrics.video_priorities.priority IS
            'higher is observed first among pinned videos';
        COMMENT ON COLUMN ytmetrics.video_priorities.pinned_at IS 'when it was pinned';
        COMMENT ON COLUMN ytmetrics.video_priorities.pinned_by IS 'who pinned it, if known';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE ytmetrics.video_priorities;
        DROP TABLE ytmetrics.deferred_observations;
        """
    )
