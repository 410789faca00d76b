"""The catalog lives in the database: a comment on every table, view and column.

Dagster's catalog (``dagster/column_schema``) is read from ``pg_catalog`` at each
materialization, so these comments are the one place column meanings are written down; the
test suite fails if a column has none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# table -> (table comment, {column: comment})
COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "videos": (
        "Videos under tracking (asset tracked_videos). The snapshot step also keeps the miss "
        "columns and marks videos unavailable.",
        {
            "video_id": "YouTube video id, 11 characters",
            "title": "title as YouTube reports it; simulated videos start with [SIMULATED]",
            "channel_id": "YouTube channel id (UC...)",
            "channel_title": "channel name as YouTube reports it",
            "published_at": "publication time reported by YouTube (UTC)",
            "duration_seconds": "length of the video in seconds",
            "status": "active (observed) | unavailable (missing from YouTube's answers) | "
            "removed (tracking stopped by a user)",
            "source": "where its details came from: youtube | simulator",
            "added_at": "when tracking started",
            "last_updated": "last change to this row",
            "details_fetched_at": "when title, channel and duration were last fetched",
            "unavailable_since": "when it became unavailable (NULL while active)",
            "removed_at": "when tracking was stopped (NULL unless removed)",
            "consecutive_misses": "observations in a row in which YouTube did not return the "
            "video (3 hours for an hourly video, 3 days for a daily one); reset when seen",
            "last_missed_hour": "snapshot hour of the latest miss (a re-run of that hour does "
            "not count it twice)",
            "video_key": "4-byte surrogate key used by the big tables instead of video_id",
        },
    ),
    "registration_requests": (
        "Requests to track a video, queued by the CLI, the MCP server, the register_videos "
        "job and the channel uploads sensor; applied (registered or rejected) by "
        "tracked_videos.",
        {
            "request_id": "request number, increasing",
            "requested_input": "what the user gave: an id or any YouTube URL form",
            "video_id": "the video id parsed from the input",
            "status": "pending | registered | rejected",
            "reason": "why it was rejected (e.g. YouTube did not return the id)",
            "requested_by": "who queued it: cli | mcp | dagster-ui (register_videos job) | "
            "demo | channel:<channel id> (the uploads sensor)",
            "requested_at": "when it was queued",
            "resolved_at": "when tracked_videos applied it",
            "run_id": "Dagster run that applied it",
        },
    ),
    "metric_snapshots": (
        "Observations of views, likes and comments (asset video_metric_snapshots), "
        "range-partitioned by UTC day; one row per video and snapshot hour. Readable with "
        "video ids as the view ytmetrics.snapshots.",
        {
            "snapshot_hour": "the UTC hour (hourly partition) the observation belongs to",
            "view_count": "views",
            "video_key": "the video (videos.video_key)",
            "like_count": "likes; NULL when the owner hides them (never 0 for hidden)",
            "comment_count": "comments; NULL when comments are turned off",
            "observed_seconds": "when the counters were read, in seconds after snapshot_hour",
        },
    ),
    "snapshot_batches": (
        "Per-hour facts of metric_snapshots, one row per write into an hour: the hour's run "
        "and any later additions of new videos. Written in the same transaction as the rows.",
        {
            "batch_id": "write number, increasing",
            "snapshot_hour": "the hour written",
            "kind": "hour (the hour replaced whole) | new_videos (videos added to the hour) | "
            "migrated (rows copied from the previous schema)",
            "source": "youtube | simulator",
            "run_id": "Dagster run that wrote it",
            "observed_at": "when the API was read",
            "videos_due": "videos the write set out to observe",
            "videos_written": "observations written",
            "videos_missing": "due videos missing from YouTube's answer",
            "api_calls": "API calls made (quota units)",
            "written_at": "commit time of the write",
        },
    ),
    "video_observation_state": (
        "Each video's two newest observations, kept by every snapshot write so the hourly "
        "work (who is due, growth of the newest hour) never reads the history; rebuildable "
        "from metric_snapshots.",
        {
            "video_key": "the video (videos.video_key)",
            "last_hour": "snapshot hour of the newest observation",
            "last_observed_at": "time of the newest observation",
            "last_views": "views at the newest observation",
            "last_likes": "likes at the newest observation (NULL if hidden)",
            "last_comments": "comments at the newest observation (NULL if off)",
            "prev_hour": "snapshot hour of the observation before it",
            "prev_observed_at": "time of the observation before it",
            "prev_views": "views at the observation before it",
            "prev_likes": "likes at the observation before it",
            "prev_comments": "comments at the observation before it",
        },
    ),
    "video_growth_hourly": (
        "Per video and observation (asset video_growth_hourly, day partitions): gains since "
        "the previous real observation, however long ago, and the rate over that real time.",
        {
            "snapshot_hour": "hour of this observation",
            "observed_at": "time of this observation",
            "prev_observed_at": "time of the previous real observation (NULL: first one)",
            "view_count": "views at this observation",
            "views_gained": "views since the previous observation (NULL for the first)",
            "hours_elapsed": "real hours since the previous observation",
            "views_per_hour": "views_gained / hours_elapsed",
            "video_key": "the video (videos.video_key)",
            "like_count": "likes at this observation (NULL if hidden)",
            "comment_count": "comments at this observation (NULL if off)",
            "likes_gained": "likes since the previous observation (NULL if hidden)",
            "comments_gained": "comments since the previous observation (NULL if off)",
        },
    ),
    "video_growth_daily": (
        "Per video and UTC day (asset video_growth_daily): growth over the day, i.e. the "
        "day's last observation minus the last observation before the day.",
        {
            "video_id": "video",
            "day": "UTC day",
            "observations": "observations during the day",
            "first_observed_at": "first observation of the day",
            "last_observed_at": "last observation of the day",
            "views_start": "views at the last observation before the day (the day's first "
            "observation for a video first observed that day)",
            "views_end": "views at the day's last observation",
            "views_gained": "views_end - views_start",
            "views_growth_pct": "100 * views_gained / views_start",
            "likes_end": "likes at the day's last observation (NULL if hidden)",
            "likes_gained": "likes gained over the day (NULL if hidden)",
            "comments_end": "comments at the day's last observation (NULL if off)",
            "comments_gained": "comments gained over the day (NULL if off)",
            "engagement_rate": "(likes + comments) / views at the day's last observation",
        },
    ),
    "channel_growth_daily": (
        "Per channel and UTC day (asset channel_growth_daily): the daily growth of its "
        "tracked videos, summed.",
        {
            "channel_id": "channel",
            "day": "UTC day",
            "videos_observed": "tracked videos of the channel with a daily growth row",
            "videos_published": "tracked videos of the channel published that day",
            "views_gained": "views gained by its tracked videos",
            "likes_gained": "likes gained (videos with hidden likes not counted)",
            "comments_gained": "comments gained (videos with comments off not counted)",
            "top_video_id": "the video that gained the most views",
            "top_video_views_gained": "its views gained",
        },
    ),
    "video_launch_curves": (
        "Counters of every video at fixed ages after publication (asset video_launch_curves), "
        "interpolated between the two observations around each age.",
        {
            "video_id": "video",
            "channel_id": "its channel",
            "age_label": "1h, 6h, 24h, 48h, 7d or 30d after published_at",
            "age_hours": "the age in hours",
            "views": "views at that age (NULL: no observations close enough around it)",
            "likes": "likes at that age (NULL if hidden or not observed around it)",
            "comments": "comments at that age (NULL if off or not observed around it)",
            "interpolated": "true when linearly interpolated between two observations",
            "before_observed_at": "the observation at or before the age",
            "after_observed_at": "the observation at or after the age",
        },
    ),
    "channel_launch_curves": (
        "Median launch curve of each channel's tracked videos (asset channel_launch_curves, "
        "written by the same step as video_launch_curves).",
        {
            "channel_id": "channel",
            "age_label": "1h, 6h, 24h, 48h, 7d or 30d after published_at",
            "age_hours": "the age in hours",
            "videos": "videos of the channel with a value at that age",
            "median_views": "median views at that age",
            "median_likes": "median likes at that age",
            "median_comments": "median comments at that age",
        },
    ),
    "video_milestones": (
        "Per active video (asset video_milestone_projections): the next views milestone and "
        "its ETA from the recent trend.",
        {
            "video_id": "video",
            "computed_at": "when the projection was made",
            "views": "views at the latest observation",
            "observed_at": "time of the latest observation",
            "window_start": "first observation of the trend window",
            "window_hours": "real hours the trend is measured over",
            "views_per_hour": "views/hour over the trend window",
            "next_milestone": "next of 1k, 10k, 100k, 1M, ...",
            "eta_hours": "hours to reach it at the trend (NULL: not growing)",
            "eta_at": "estimated time it is reached",
            "method": "how the estimate was made, with its window",
        },
    ),
    "api_calls": (
        "The quota ledger: every YouTube API attempt, retries included, written before it is "
        "sent and settled with the answer.",
        {
            "call_id": "attempt number, increasing",
            "called_at": "when the attempt was sent",
            "quota_day": "YouTube's quota day (midnight to midnight Pacific time)",
            "method": "API method (videos, channels, playlistItems, videos:batchGetStats)",
            "bucket": "quota bucket the units count against",
            "units": "quota units the attempt costs",
            "http_status": "HTTP status of the answer (NULL: no answer)",
            "reason": "YouTube's error reason, if any",
            "source": "youtube | simulator",
            "run_id": "Dagster run or sensor that made the call",
            "reservation_id": "the quota reservation the attempt was made under",
            "settled_at": "when the answer (or its absence) was recorded",
        },
    ),
    "quota_reservations": (
        "Quota units held by API sessions in progress, so concurrent runs cannot overspend; "
        "part of the quota ledger (api_calls).",
        {
            "reservation_id": "reservation number, increasing",
            "quota_day": "YouTube's quota day the units are held on",
            "bucket": "quota bucket",
            "units": "units held",
            "purpose": "what the session does",
            "run_id": "Dagster run or sensor holding it",
            "created_at": "when it was taken",
            "expires_at": "when it stops holding units if its run dies",
            "released_at": "when the session ended",
        },
    ),
    "channels": (
        "Channels whose new uploads are tracked (CLI track-channel; polled by "
        "channel_uploads_sensor).",
        {
            "channel_id": "YouTube channel id (UC...)",
            "title": "channel name",
            "handle": "@handle, if known",
            "uploads_playlist_id": "the channel's uploads playlist (UU...)",
            "status": "tracked | untracked",
            "source": "youtube | simulator",
            "tracked_at": "when tracking started",
            "untracked_at": "when tracking stopped",
            "last_polled_at": "when its uploads playlist was last read",
            "uploads_registered": "uploads queued for tracking so far",
        },
    ),
    "alerts": (
        "Alerts raised by the sensors and the snapshot step, one per key, with their webhook "
        "delivery.",
        {
            "alert_id": "alert number, increasing",
            "created_at": "when it was raised",
            "kind": "run_failure | quota | viral | missed_hour | capacity | freshness",
            "dedupe_key": "one alert per key (e.g. quota:<day>)",
            "message": "what happened",
            "details": "structured details (JSON)",
            "delivered_at": "when the webhook accepted it (NULL: not delivered)",
            "delivery_error": "why the last delivery attempt failed (never contains the webhook URL)",
            "delivery_state": "pending | delivered | undeliverable (attempts or age exhausted)",
            "delivery_attempts": "webhook delivery attempts so far",
            "next_attempt_at": "earliest time of the next attempt (exponential backoff)",
        },
    ),
    "missed_hours": (
        "Hours the snapshot step could not observe, and why. With the real API such an hour "
        "is lost for good.",
        {
            "snapshot_hour": "the hour not observed",
            "recorded_at": "when the last attempt gave up",
            "reason": "why it was not observed",
            "run_id": "the last run that tried",
            "videos_due": "videos that were due that hour",
            "attempts": "runs that tried and failed",
        },
    ),
    "day_partitions": (
        "Storage bookkeeping of the day partitions of metric_snapshots and "
        "video_growth_hourly: creation, last write, compaction.",
        {
            "partition_name": "name of the partition table",
            "parent": "metric_snapshots | video_growth_hourly",
            "day": "the UTC day it holds",
            "created_at": "when it was created",
            "last_written_at": "when a writer last changed it",
            "compacted_at": "when it was last compacted (CLUSTER)",
            "bytes_before": "size before the last compaction",
            "bytes_after": "size after the last compaction",
        },
    ),
    "deployment": (
        "Facts about this deployment, written by migrations (e.g. partitions_start).",
        {
            "key": "setting name",
            "value": "its value",
            "set_at": "when it was set",
        },
    ),
    "snapshots": (
        "Every stored observation, readable: video_id, hour, observation time, counters, "
        "source. Storage is ytmetrics.metric_snapshots (day partitions, integer video key).",
        {
            "video_id": "video",
            "snapshot_hour": "the UTC hour the observation belongs to",
            "observed_at": "when the counters were read",
            "view_count": "views",
            "like_count": "likes; NULL when hidden",
            "comment_count": "comments; NULL when off",
            "source": "youtube | simulator",
        },
    ),
    "growth_hourly": (
        "Hourly growth, readable (video_id instead of the storage key).",
        {
            "video_id": "video",
            "snapshot_hour": "hour of this observation",
            "observed_at": "time of this observation",
            "prev_observed_at": "time of the previous real observation (NULL: first one)",
            "view_count": "views at this observation",
            "like_count": "likes at this observation (NULL if hidden)",
            "comment_count": "comments at this observation (NULL if off)",
            "views_gained": "views since the previous observation",
            "likes_gained": "likes since the previous observation",
            "comments_gained": "comments since the previous observation",
            "hours_elapsed": "real hours since the previous observation",
            "views_per_hour": "views_gained / hours_elapsed",
        },
    ),
}

VIEWS = ("snapshots", "growth_hourly")


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _statements(with_text: bool) -> list[str]:
    out = []
    for table, (table_comment, columns) in COMMENTS.items():
        kind = "VIEW" if table in VIEWS else "TABLE"
        out.append(
            f"COMMENT ON {kind} ytmetrics.{table} IS "
            + _literal(table_comment if with_text else None)
        )
        for column, comment in columns.items():
            out.append(
                f"COMMENT ON COLUMN ytmetrics.{table}.{column} IS "
                + _literal(comment if with_text else None)
            )
    return out


def upgrade() -> None:
    op.execute(";\n".join(_statements(True)))


def downgrade() -> None:
    op.execute(";\n".join(_statements(False)))
    op.execute(
        """
        COMMENT ON VIEW ytmetrics.growth_hourly IS
            'Hourly growth, readable (video_id instead of the storage key).';
        COMMENT ON VIEW ytmetrics.snapshots IS
            'Every stored observation, readable: video_id, hour, observation time, counters, '
            'source. Storage is ytmetrics.metric_snapshots (day partitions, integer video key).';
        """
    )
