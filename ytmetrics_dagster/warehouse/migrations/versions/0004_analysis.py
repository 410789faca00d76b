"""Analysis tables: channel daily growth, launch curves, milestone projections.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.channel_growth_daily (
            channel_id             text NOT NULL,
            day                    date NOT NULL,
            videos_observed        integer NOT NULL,
            videos_published       integer NOT NULL,
            views_gained           bigint NOT NULL,
            likes_gained           bigint,
            comments_gained        bigint,
            top_video_id           varchar(11),
            top_video_views_gained bigint,
            PRIMARY KEY (channel_id, day)
        );
        CREATE INDEX channel_growth_daily_day_idx ON ytmetrics.channel_growth_daily (day);

        CREATE TABLE ytmetrics.video_launch_curves (
            video_id          varchar(11) NOT NULL,
            channel_id        text,
            age_label         text NOT NULL,
            age_hours         integer NOT NULL,
            views             double precision,
            likes             double precision,
            comments          double precision,
            interpolated      boolean,
            before_observed_at timestamptz,
            after_observed_at  timestamptz,
            PRIMARY KEY (video_id, age_hours)
        );
        CREATE INDEX video_launch_curves_channel_idx ON ytmetrics.video_launch_curves (channel_id, age_hours);

        CREATE TABLE ytmetrics.channel_launch_curves (
            channel_id      text NOT NULL,
            age_label       text NOT NULL,
            age_hours       integer NOT NULL,
            videos          integer NOT NULL,
            median_views    double precision,
            median_likes    double precision,
            median_comments double precision,
            PRIMARY KEY (channel_id, age_hours)
        );

        CREATE TABLE ytmetrics.video_milestones (
            video_id        varchar(11) PRIMARY KEY,
            computed_at     timestamptz NOT NULL,
            views           bigint NOT NULL,
            observed_at     timestamptz NOT NULL,
            window_start    timestamptz,
            window_hours    double precision,
            views_per_hour  double precision,
            next_milestone  bigint NOT NULL,
            eta_hours       double precision,
            eta_at          timestamptz,
            method          text NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE ytmetrics.video_milestones;
        DROP TABLE ytmetrics.channel_launch_curves;
        DROP TABLE ytmetrics.video_launch_curves;
        DROP TABLE ytmetrics.channel_growth_daily;
        """
    )
