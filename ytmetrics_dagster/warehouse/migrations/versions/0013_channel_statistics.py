"""Channel statistics observed hourly (channels.list part=statistics, 1 unit per 50 channels)
for the tracked channels, and their growth between observations.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ytmetrics.channel_statistics (
            channel_id         text NOT NULL CHECK (channel_id ~ '^UC[A-Za-z0-9_-]{22}$'),
            snapshot_hour      timestamptz NOT NULL
                               CHECK (snapshot_hour = date_trunc('hour', snapshot_hour)),
            observed_at        timestamptz NOT NULL,
            subscriber_count   bigint CHECK (subscriber_count >= 0),
            hidden_subscribers boolean NOT NULL,
            view_count         bigint NOT NULL CHECK (view_count >= 0),
            video_count        integer NOT NULL CHECK (video_count >= 0),
            source             text NOT NULL CHECK (source IN ('youtube', 'simulator')),
            run_id             text,
            PRIMARY KEY (channel_id, snapshot_hour),
            CHECK (NOT hidden_subscribers OR subscriber_count IS NULL)
        );
        CREATE INDEX channel_statistics_hour_idx ON ytmetrics.channel_statistics (snapshot_hour);

        CREATE VIEW ytmetrics.channel_statistics_growth AS
        SELECT channel_id, snapshot_hour, observed_at, subscriber_count, view_count, video_count,
               prev_observed_at,
               extract(epoch FROM observed_at - prev_observed_at) / 3600.0 AS hours_elapsed,
               subscriber_count - prev_subscribers AS subscribers_gained,
               view_count - prev_views AS views_gained,
               video_count - prev_videos AS videos_gained,
               (view_count - prev_views)
                   / nullif(extract(epoch FROM observed_at - prev_observed_at) / 3600.0, 0)
                   AS views_per_hour
        FROM (
            SELECT c.*,
                   lag(observed_at) OVER w AS prev_observed_at,
                   lag(subscriber_count) OVER w AS prev_subscribers,
                   lag(view_count) OVER w AS prev_views,
                   lag(video_count) OVER w AS prev_videos
            FROM ytmetrics.channel_statistics c
            WINDOW w AS (PARTITION BY channel_id ORDER BY snapshot_hour)
        ) s;

        COMMENT ON TABLE ytmetrics.channel_statistics IS
            'Hourly observations of each tracked channel''s public statistics (channels.list part=statistics, 50 channels a unit), one row per channel per UTC hour; written by the channel_statistics asset with the hourly snapshot run';
        COMMENT ON COLUMN ytmetrics.channel_statistics.channel_id IS 'the channel (UC…)';
        COMMENT ON COLUMN ytmetrics.channel_statistics.snapshot_hour IS 'the UTC hour (partition) of the observation';
        COMMENT ON COLUMN ytmetrics.channel_statistics.observed_at IS 'when the statistics were read';
        COMMENT ON COLUMN ytmetrics.channel_statistics.subscriber_count IS 'subscribers as YouTube shows them (rounded down to three significant figures); NULL when the channel hides its count';
        COMMENT ON COLUMN ytmetrics.channel_statistics.hidden_subscribers IS 'the channel hides its subscriber count (hiddenSubscriberCount)';
        COMMENT ON COLUMN ytmetrics.channel_statistics.view_count IS 'views of all the channel''s videos';
        COMMENT ON COLUMN ytmetrics.channel_statistics.video_count IS 'public videos of the channel';
        COMMENT ON COLUMN ytmetrics.channel_statistics.source IS 'youtube or simulator';
        COMMENT ON COLUMN ytmetrics.channel_statistics.run_id IS 'the Dagster run that wrote the hour';
        COMMENT ON VIEW ytmetrics.channel_statistics_growth IS
            'channel_statistics with the gains since each channel''s previous observation (however long ago) and views/hour over the real time between them';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.channel_id IS 'the channel';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.snapshot_hour IS 'the UTC hour';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.observed_at IS 'when read';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.subscriber_count IS 'subscribers (NULL when hidden)';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.view_count IS 'views of all its videos';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.video_count IS 'public videos';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.prev_observed_at IS 'the previous observation of the channel (NULL for the first)';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.hours_elapsed IS 'real hours since the previous observation';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.subscribers_gained IS 'subscribers gained since the previous observation';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.views_gained IS 'views gained since the previous observation';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.videos_gained IS 'videos added since the previous observation';
        COMMENT ON COLUMN ytmetrics.channel_statistics_growth.views_per_hour IS 'views_gained / hours_elapsed';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW ytmetrics.channel_statistics_growth;
        DROP TABLE ytmetrics.channel_statistics;
        """
    )
