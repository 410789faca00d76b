"""Column schemas of the warehouse tables, attached to their assets so the Dagster catalog
documents the warehouse (``dagster/column_schema``)."""

import dagster as dg


def _schema(*columns: tuple[str, str, str]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type, description=description)
            for name, type, description in columns
        ]
    )


def column_schema(schema: dg.TableSchema, table: str) -> dict:
    return {"dagster/column_schema": schema, "dagster/table_name": f"ytmetrics.{table}"}


VIDEOS = _schema(
    ("video_id", "varchar(11)", "YouTube video id (primary key)"),
    ("title", "text", "title; simulated videos start with [SIMULATED]"),
    ("channel_id", "text", "channel id (UC...)"),
    ("channel_title", "text", "channel name"),
    ("published_at", "timestamptz", "publication time reported by YouTube"),
    ("duration_seconds", "integer", "length of the video"),
    ("status", "text", "active | unavailable (missing from YouTube's answers) | removed"),
    ("source", "text", "youtube | simulator"),
    ("added_at", "timestamptz", "when tracking started"),
    ("last_updated", "timestamptz", "last change to this row"),
    ("unavailable_since", "timestamptz", "when it went missing, if unavailable"),
    ("consecutive_misses", "integer", "hours in a row YouTube did not return it"),
)
METRIC_SNAPSHOTS = _schema(
    ("video_id", "varchar(11)", "video (primary key with snapshot_hour)"),
    ("snapshot_hour", "timestamptz", "the UTC hour partition the observation belongs to"),
    ("observed_at", "timestamptz", "when the counters were actually read"),
    ("view_count", "bigint", "views"),
    ("like_count", "bigint", "likes; NULL when the owner hides them (never 0 for hidden)"),
    ("comment_count", "bigint", "comments; NULL when comments are off"),
    ("source", "text", "youtube | simulator"),
    ("run_id", "text", "Dagster run that wrote it"),
)
GROWTH_HOURLY = _schema(
    ("video_id", "varchar(11)", "video"),
    ("snapshot_hour", "timestamptz", "hour of this observation"),
    ("observed_at", "timestamptz", "time of this observation"),
    ("view_count", "bigint", "views at this observation"),
    ("prev_observed_at", "timestamptz", "time of the previous real observation (NULL: first)"),
    ("hours_elapsed", "double precision", "real hours since the previous observation"),
    ("views_gained", "bigint", "views since the previous observation"),
    ("likes_gained", "bigint", "likes since the previous observation (NULL if hidden)"),
    ("comments_gained", "bigint", "comments since the previous observation (NULL if off)"),
    ("views_per_hour", "double precision", "views_gained / hours_elapsed"),
)
GROWTH_DAILY = _schema(
    ("video_id", "varchar(11)", "video"),
    ("day", "date", "UTC day"),
    ("observations", "integer", "observations during the day"),
    ("views_start", "bigint", "views at the last observation before the day"),
    ("views_end", "bigint", "views at the day's last observation"),
    ("views_gained", "bigint", "views_end - views_start"),
    ("views_growth_pct", "double precision", "100 * views_gained / views_start"),
    ("likes_gained", "bigint", "likes gained (NULL if hidden)"),
    ("comments_gained", "bigint", "comments gained (NULL if off)"),
    ("engagement_rate", "double precision", "(likes + comments) / views at the end of the day"),
)
CHANNEL_GROWTH_DAILY = _schema(
    ("channel_id", "text", "channel"),
    ("day", "date", "UTC day"),
    ("videos_observed", "integer", "tracked videos of the channel with a daily growth row"),
    ("videos_published", "integer", "tracked videos of the channel published that day"),
    ("views_gained", "bigint", "views gained by its tracked videos"),
    ("likes_gained", "bigint", "likes gained"),
    ("comments_gained", "bigint", "comments gained"),
    ("top_video_id", "varchar(11)", "the video that gained the most views"),
    ("top_video_views_gained", "bigint", "its views gained"),
)
LAUNCH_CURVES = _schema(
    ("video_id", "varchar(11)", "video"),
    ("channel_id", "text", "its channel"),
    ("age_label", "text", "1h, 6h, 24h, 48h, 7d, 30d after published_at"),
    ("views", "double precision", "views at that age (NULL: not observed around it)"),
    ("likes", "double precision", "likes at that age"),
    ("comments", "double precision", "comments at that age"),
    ("interpolated", "boolean", "true when linearly interpolated between two observations"),
    ("before_observed_at", "timestamptz", "the observation before"),
    ("after_observed_at", "timestamptz", "the observation after"),
)
MILESTONES = _schema(
    ("video_id", "varchar(11)", "video"),
    ("views", "bigint", "views at the latest observation"),
    ("views_per_hour", "double precision", "recent trend (see method)"),
    ("next_milestone", "bigint", "next of 1k, 10k, 100k, 1M, ..."),
    ("eta_hours", "double precision", "hours to reach it at the recent trend"),
    ("eta_at", "timestamptz", "estimated time it is reached"),
    ("method", "text", "how the estimate was made, with its window"),
)
