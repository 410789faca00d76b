"""Years of data: day-partitioned, lean snapshot and hourly-growth tables; per-video last
observation; per-hour batch facts; deployment settings.

- ``videos.video_key``: a 4-byte surrogate key used by the big tables instead of the
  11-character id (12 bytes as varchar).
- ``metric_snapshots`` becomes a table range-partitioned by UTC day on ``snapshot_hour``.
  A row keeps only what differs per video: counters and the observation's offset in seconds
  from the hour. Run id, source and the batch's observation time are per-hour facts, kept once
  in ``snapshot_batches``. Likes and comments are ``integer``: the most-liked video has about
  6e7 likes, a 35x margin below 2^31; views stay ``bigint`` (several videos exceed 2^31).
- ``video_growth_hourly`` is range-partitioned by UTC day too.
- ``video_observation_state``: the two most recent observations of every video, kept by the
  snapshot write, so the hourly work (who is due, checks, growth of the newest hour) does not
  read the history.
- ``ytmetrics.snapshots``: a readable view (video_id, snapshot_hour, observed_at, counters,
  source) for analysts and ad-hoc SQL.

Existing rows are copied, not recomputed: every snapshot row of the previous schema is in the
new table exactly once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The day partition of a day-partitioned table, created if missing. Attached (not created with
# PARTITION OF) because ATTACH takes a weaker lock on the parent than CREATE ... PARTITION OF,
# so readers of the parent are not blocked; lock_timeout keeps a busy parent from stalling us.
ENSURE_DAY_PARTITION = """
CREATE FUNCTION ytmetrics.ensure_day_partition(parent text, day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    child text := parent || '_p' || to_char(day, 'YYYYMMDD');
BEGIN
    IF parent NOT IN ('metric_snapshots', 'video_growth_hourly') THEN
        RAISE EXCEPTION 'ytmetrics.%: not a day-partitioned table', parent;
    END IF;
    IF to_regclass(format('ytmetrics.%I', child)) IS NOT NULL THEN
        RETURN child;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ytmetrics.partition'), hashtext(child));
    IF to_regclass(format('ytmetrics.%I', child)) IS NOT NULL THEN
        RETURN child;
    END IF;
    EXECUTE format(
        'CREATE TABLE ytmetrics.%I (LIKE ytmetrics.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        child, parent);
    EXECUTE format(
        'ALTER TABLE ytmetrics.%I ATTACH PARTITION ytmetrics.%I FOR VALUES FROM (%L) TO (%L)',
        parent, child, day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
    INSERT INTO ytmetrics.day_partitions (partition_name, parent, day)
    VALUES (child, parent, day) ON CONFLICT (partition_name) DO NOTHING;
    RETURN child;
END $$;
"""

SNAPSHOTS = """
CREATE TABLE ytmetrics.metric_snapshots (
    snapshot_hour    timestamptz NOT NULL
                     CHECK (extract(epoch FROM snapshot_hour)::bigint % 3600 = 0),
    view_count       bigint NOT NULL CHECK (view_count >= 0),
    video_key        integer NOT NULL REFERENCES ytmetrics.videos (video_key),
    like_count       integer CHECK (like_count >= 0),
    comment_count    integer CHECK (comment_count >= 0),
    -- when the counters were read, in seconds after snapshot_hour
    observed_seconds smallint NOT NULL CHECK (observed_seconds >= 0),
    PRIMARY KEY (video_key, snapshot_hour) WITH (fillfactor = 100)
) PARTITION BY RANGE (snapshot_hour)
"""

GROWTH_HOURLY = """
CREATE TABLE ytmetrics.video_growth_hourly (
    snapshot_hour    timestamptz NOT NULL,
    observed_at      timestamptz NOT NULL,
    prev_observed_at timestamptz,
    view_count       bigint NOT NULL,
    views_gained     bigint,
    hours_elapsed    double precision,
    views_per_hour   double precision,
    video_key        integer NOT NULL,
    like_count       integer,
    comment_count    integer,
    likes_gained     integer,
    comments_gained  integer,
    PRIMARY KEY (video_key, snapshot_hour) WITH (fillfactor = 100)
) PARTITION BY RANGE (snapshot_hour)
"""


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ytmetrics.videos
            ADD COLUMN video_key integer GENERATED ALWAYS AS IDENTITY,
            ADD CONSTRAINT videos_video_key_key UNIQUE (video_key);
        """
    )
    op.execute(
        """
        -- one row per day partition: when it was last written and last compacted
        CREATE TABLE ytmetrics.day_partitions (
            partition_name  text PRIMARY KEY,
            parent          text NOT NULL,
            day             date NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now(),
            last_written_at timestamptz NOT NULL DEFAULT now(),
            compacted_at    timestamptz,
            bytes_before    bigint,
            bytes_after     bigint,
            UNIQUE (parent, day)
        );
        """
    )
    op.execute(ENSURE_DAY_PARTITION)
    op.execute(
        """
        CREATE TABLE ytmetrics.deployment (
            key    text PRIMARY KEY,
            value  text NOT NULL,
            set_at timestamptz NOT NULL DEFAULT now()
        );
        -- the first day of the deployment: the first partition of every time-partitioned asset
        INSERT INTO ytmetrics.deployment (key, value)
        SELECT 'partitions_start',
               to_char(coalesce(least((SELECT min(snapshot_hour) FROM ytmetrics.metric_snapshots),
                                      (SELECT min(added_at) FROM ytmetrics.videos)),
                                now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD');

        CREATE TABLE ytmetrics.snapshot_batches (
            batch_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            snapshot_hour     timestamptz NOT NULL,
            kind              text NOT NULL CHECK (kind IN ('hour', 'new_videos', 'migrated')),
            source            text NOT NULL CHECK (source IN ('youtube', 'simulator')),
            run_id            text,
            observed_at       timestamptz,
            videos_due        integer,
            videos_written    integer NOT NULL,
            videos_missing    integer,
            api_calls         integer,
            written_at        timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX snapshot_batches_hour_idx ON ytmetrics.snapshot_batches (snapshot_hour);

        ALTER TABLE ytmetrics.metric_snapshots RENAME TO metric_snapshots_v6;
        ALTER TABLE ytmetrics.metric_snapshots_v6 RENAME CONSTRAINT metric_snapshots_pkey
            TO metric_snapshots_v6_pkey;
        ALTER TABLE ytmetrics.video_growth_hourly RENAME TO video_growth_hourly_v6;
        ALTER TABLE ytmetrics.video_growth_hourly_v6 RENAME CONSTRAINT video_growth_hourly_pkey
            TO video_growth_hourly_v6_pkey;
        """
    )
    op.execute(SNAPSHOTS)
    op.execute(GROWTH_HOURLY)
    op.execute(
        """
        -- a day partition for every day that holds data
        SELECT ytmetrics.ensure_day_partition(t.parent, d.day)
        FROM (SELECT DISTINCT CAST(snapshot_hour AT TIME ZONE 'UTC' AS date) AS day
              FROM ytmetrics.metric_snapshots_v6) d
        CROSS JOIN (VALUES ('metric_snapshots'), ('video_growth_hourly')) AS t(parent);

        INSERT INTO ytmetrics.snapshot_batches
            (snapshot_hour, kind, source, run_id, observed_at, videos_written)
        SELECT snapshot_hour, 'migrated', min(source), min(run_id), min(observed_at), count(*)
        FROM ytmetrics.metric_snapshots_v6
        GROUP BY snapshot_hour;

        INSERT INTO ytmetrics.metric_snapshots
            (snapshot_hour, view_count, video_key, like_count, comment_count, observed_seconds)
        SELECT s.snapshot_hour, s.view_count, v.video_key, s.like_count, s.comment_count,
               -- whole seconds, truncated as the writer does (never into the next hour)
               CAST(floor(extract(epoch FROM s.observed_at - s.snapshot_hour)) AS integer)
        FROM ytmetrics.metric_snapshots_v6 s
        JOIN ytmetrics.videos v USING (video_id)
        ORDER BY v.video_key, s.snapshot_hour;

        INSERT INTO ytmetrics.video_growth_hourly
            (snapshot_hour, observed_at, prev_observed_at, view_count, views_gained,
             hours_elapsed, views_per_hour, video_key, like_count, comment_count,
             likes_gained, comments_gained)
        SELECT g.snapshot_hour, g.observed_at, g.prev_observed_at, g.view_count, g.views_gained,
               g.hours_elapsed, g.views_per_hour, v.video_key, g.like_count, g.comment_count,
               g.likes_gained, g.comments_gained
        FROM ytmetrics.video_growth_hourly_v6 g
        JOIN ytmetrics.videos v USING (video_id)
        JOIN ytmetrics.metric_snapshots_v6 s USING (video_id, snapshot_hour);
        """
    )
    op.execute(
        """
        DO $$
        DECLARE
            old_rows bigint := (SELECT count(*) FROM ytmetrics.metric_snapshots_v6);
            new_rows bigint := (SELECT count(*) FROM ytmetrics.metric_snapshots);
        BEGIN
            IF old_rows <> new_rows THEN
                RAISE EXCEPTION 'migration 0007 copied % of % snapshot rows', new_rows, old_rows;
            END IF;
        END $$;
        DROP TABLE ytmetrics.video_growth_hourly_v6;
        DROP TABLE ytmetrics.metric_snapshots_v6;

        CREATE TABLE ytmetrics.video_observation_state (
            video_key        integer PRIMARY KEY
                             REFERENCES ytmetrics.videos (video_key) ON DELETE CASCADE,
            last_hour        timestamptz NOT NULL,
            last_observed_at timestamptz NOT NULL,
            last_views       bigint NOT NULL,
            last_likes       integer,
            last_comments    integer,
            prev_hour        timestamptz,
            prev_observed_at timestamptz,
            prev_views       bigint,
            prev_likes       integer,
            prev_comments    integer,
            CHECK (prev_hour < last_hour)
        ) WITH (fillfactor = 70);
        """
    )
    op.execute(REBUILD_STATE)
    op.execute(
        """
        CREATE VIEW ytmetrics.snapshots AS
        SELECT v.video_id, s.snapshot_hour,
               s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at,
               s.view_count, s.like_count, s.comment_count, b.source
        FROM ytmetrics.metric_snapshots s
        JOIN ytmetrics.videos v USING (video_key)
        LEFT JOIN (SELECT snapshot_hour, min(source) AS source
                   FROM ytmetrics.snapshot_batches GROUP BY snapshot_hour) b USING (snapshot_hour);
        CREATE VIEW ytmetrics.growth_hourly AS
        SELECT v.video_id, g.snapshot_hour, g.observed_at, g.prev_observed_at, g.view_count,
               g.like_count, g.comment_count, g.views_gained, g.likes_gained, g.comments_gained,
               g.hours_elapsed, g.views_per_hour
        FROM ytmetrics.video_growth_hourly g
        JOIN ytmetrics.videos v USING (video_key);
        COMMENT ON VIEW ytmetrics.growth_hourly IS
            'Hourly growth, readable (video_id instead of the storage key).';
        COMMENT ON VIEW ytmetrics.snapshots IS
            'Every stored observation, readable: video_id, hour, observation time, counters, '
            'source. Storage is ytmetrics.metric_snapshots (day partitions, integer video key).';
        """
    )


# The two most recent observations per video, straight from the history (also used by the
# snapshot writer for the few videos whose state an unusual write invalidates).
REBUILD_STATE = """
INSERT INTO ytmetrics.video_observation_state
    (video_key, last_hour, last_observed_at, last_views, last_likes, last_comments,
     prev_hour, prev_observed_at, prev_views, prev_likes, prev_comments)
SELECT v.video_key, l.snapshot_hour, l.snapshot_hour + make_interval(secs => l.observed_seconds),
       l.view_count, l.like_count, l.comment_count,
       p.snapshot_hour, p.snapshot_hour + make_interval(secs => p.observed_seconds),
       p.view_count, p.like_count, p.comment_count
FROM ytmetrics.videos v
CROSS JOIN LATERAL (
    SELECT * FROM ytmetrics.metric_snapshots s
    WHERE s.video_key = v.video_key ORDER BY s.snapshot_hour DESC LIMIT 1
) l
LEFT JOIN LATERAL (
    SELECT * FROM ytmetrics.metric_snapshots s
    WHERE s.video_key = v.video_key AND s.snapshot_hour < l.snapshot_hour
    ORDER BY s.snapshot_hour DESC LIMIT 1
) p ON true
"""


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW ytmetrics.growth_hourly;
        DROP VIEW ytmetrics.snapshots;
        DROP TABLE ytmetrics.video_observation_state;
        ALTER TABLE ytmetrics.metric_snapshots RENAME TO metric_snapshots_v7;
        ALTER TABLE ytmetrics.video_growth_hourly RENAME TO video_growth_hourly_v7;

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
        INSERT INTO ytmetrics.metric_snapshots
        SELECT v.video_id, s.snapshot_hour, s.snapshot_hour + make_interval(secs => s.observed_seconds),
               s.view_count, s.like_count, s.comment_count,
               coalesce(b.source, v.source), b.run_id
        FROM ytmetrics.metric_snapshots_v7 s
        JOIN ytmetrics.videos v USING (video_key)
        LEFT JOIN (SELECT DISTINCT ON (snapshot_hour) snapshot_hour, source, run_id
                   FROM ytmetrics.snapshot_batches ORDER BY snapshot_hour, batch_id DESC) b
            USING (snapshot_hour);

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
        INSERT INTO ytmetrics.video_growth_hourly
        SELECT v.video_id, g.snapshot_hour, g.observed_at, g.view_count, g.like_count,
               g.comment_count, g.prev_observed_at, g.hours_elapsed, g.views_gained,
               g.likes_gained, g.comments_gained, g.views_per_hour
        FROM ytmetrics.video_growth_hourly_v7 g JOIN ytmetrics.videos v USING (video_key);

        DROP TABLE ytmetrics.video_growth_hourly_v7;
        DROP TABLE ytmetrics.metric_snapshots_v7;
        DROP TABLE ytmetrics.snapshot_batches;
        DROP TABLE ytmetrics.deployment;
        DROP TABLE ytmetrics.day_partitions;
        DROP FUNCTION ytmetrics.ensure_day_partition(text, date);
        ALTER TABLE ytmetrics.videos DROP COLUMN video_key;
        """
    )
