"""Tracked channels, polled through their uploads playlists.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.channels (
            channel_id          text PRIMARY KEY CHECK (channel_id ~ '^UC[A-Za-z0-9_-]{22}$'),
            title               text,
            handle              text,
            uploads_playlist_id text NOT NULL,
            status              text NOT NULL DEFAULT 'tracked'
                                CHECK (status IN ('tracked', 'untracked')),
            source              text NOT NULL CHECK (source IN ('youtube', 'simulator')),
            tracked_at          timestamptz NOT NULL DEFAULT now(),
            untracked_at        timestamptz,
            last_polled_at      timestamptz,
            uploads_registered  integer NOT NULL DEFAULT 0
        );
        CREATE INDEX channels_poll_idx ON ytmetrics.channels (status, last_polled_at NULLS FIRST);
        CREATE INDEX registration_requests_video_idx ON ytmetrics.registration_requests (video_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ytmetrics.registration_requests_video_idx;
        DROP TABLE ytmetrics.channels;
        """
    )
