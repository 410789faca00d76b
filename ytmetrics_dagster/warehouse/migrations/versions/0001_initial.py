"""The spine: videos, registration queue, hourly snapshots, growth tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.videos (
            video_id          varchar(11) PRIMARY KEY
                              CHECK (video_id ~ '^[A-Za-z0-9_-]{11}$'),
            title             text,
            channel_id        text,
            channel_title     text,
            published_at      timestamptz,
            duration_seconds  integer CHECK (duration_seconds >= 0),
            status            text NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'unavailable', 'removed')),
            source            text NOT NULL CHECK (source IN ('youtube', 'simulator')),
            added_at          timestamptz NOT NULL DEFAULT now(),
            last_updated      timestamptz NOT NULL DEFAULT now(),
            details_fetched_at timestamptz,
            unavailable_since timestamptz,
            removed_at        timestamptz
        );
        CREATE INDEX videos_status_added_idx ON ytmetrics.videos (status, added_at DESC);
        CREATE INDEX videos_channel_idx ON ytmetrics.videos (channel_id, status);

        CREATE TABLE ytmetrics.registration_requests (
            request_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            requested_input text NOT NULL,
            video_id        varchar(11) CHECK (video_id ~ '^[A-Za-z0-9_-]{11}$'),
            status          text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'registered', 'rejected')),
            reason          text,
            requested_by    text NOT NULL DEFAULT 'cli',
            requested_at    timestamptz NOT NULL DEFAULT now(),
            resolved_at     timestamptz,
            run_id          text
        );
        CREATE INDEX registration_requests_pending_idx
            ON ytmetrics.registration_requests (request_id) WHERE status = 'pending';

        CREATE TABLE ytmetrics.metric_snapshots (
            video_id      varchar(11) NOT NULL REFERENCES ytmetrics.videos (video_id),
            snapshot_hour timestamptz NOT NULL
                          CHECK (extract(epoch FROM snapshot_hour)::bigint % 3600 = 0),
            observed_at   timestamptz NOT NULL,
            view_count    bigint NOT NULL CHECK (view_count >= 0),
            like_count    bigint CHECK (like_count >= 0),
            comment_count bigint CHECK (comment_count >= 0),
            source        text NOT NULL CHECK (source IN ('youtube', 'simulator')),
            run_id        text,
            PRIMARY KEY (video_id, snapshot_hour)
        );
        CREATE INDEX metric_snapshots_hour_idx ON ytmetrics.metric_snapshots (snapshot_hour);

        CREATE TABLE ytmetrics.video_growth_hourly (
            video_id         varchar(11) NOT NULL,
            snapshot_hour    timestamptz NOT NULL,
            observed_at      timestamptz NOT NULL,
            view_count       bigint NOT NULL,
            like_count       bigint,
            comment_count    bigint,
            prev_observed_at timestamptz,
            hours_elapsed    double precision,
            views_gained     bigint,
            likes_gained     bigint,
            comments_gained  bigint,
            views_per_hour   double precision,
            PRIMARY KEY (video_id, snapshot_hour)
        );
        CREATE INDEX video_growth_hourly_hour_idx ON ytmetrics.video_growth_hourly (snapshot_hour);

        CREATE TABLE ytmetrics.video_growth_daily (
            video_id          varchar(11) NOT NULL,
            day               date NOT NULL,
            observations      integer NOT NULL,
            first_observed_at timestamptz NOT NULL,
            last_observed_at  timestamptz NOT NULL,
            views_start       bigint NOT NULL,
            views_end         bigint NOT NULL,
            views_gained      bigint NOT NULL,
            views_growth_pct  double precision,
            likes_end         bigint,
            likes_gained      bigint,
            comments_end      bigint,
            comments_gained   bigint,
            engagement_rate   double precision,
            PRIMARY KEY (video_id, day)
        );
        CREATE INDEX video_growth_daily_day_idx ON ytmetrics.video_growth_daily (day);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE ytmetrics.video_growth_daily;
        DROP TABLE ytmetrics.video_growth_hourly;
        DROP TABLE ytmetrics.metric_snapshots;
        DROP TABLE ytmetrics.registration_requests;
        DROP TABLE ytmetrics.videos;
        """
    )
