"""Listing and finding tracked videos: filters, search, sorting, one video's record.

Read API over the warehouse; every value is a bound parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.frames import Rows
from ytmetrics_dagster.warehouse.read_limits import MAX_LIST_LIMIT, MAX_OFFSET, InvalidQueryError
from ytmetrics_dagster.warehouse.videos import VIDEO_STATUSES, UnknownVideoError

if TYPE_CHECKING:
    import pandas as pd


def video_rows(
    engine: Engine,
    *,
    status: str = "active",
    channel_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Rows, int]:
    """Tracked videos, newest first, and the total matching the filter (for paging)."""
    if status != "all" and status not in VIDEO_STATUSES:
        raise InvalidQueryError(
            f"invalid status {status!r}; valid: {', '.join((*VIDEO_STATUSES, 'all'))}"
        )
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidQueryError(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidQueryError(f"offset must be an integer from 0 to {MAX_OFFSET}")
    params = {"status": None if status == "all" else status, "channel": channel_id}
    with engine.connect() as conn:
        rows = Rows.of(
            conn.execute(
                text(
                    """
                SELECT video_id, title, channel_id, channel_title, published_at, status,
                       added_at, last_updated
                FROM ytmetrics.videos
                WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))
                  AND (CAST(:channel AS text) IS NULL OR channel_id = CAST(:channel AS text))
                ORDER BY added_at DESC, video_id
                LIMIT :limit OFFSET :offset
                """
                ),
                {**params, "limit": limit, "offset": offset},
            )
        )
        total = conn.execute(
            text(
                """
                SELECT count(*) FROM ytmetrics.videos
                WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))
                  AND (CAST(:channel AS text) IS NULL OR channel_id = CAST(:channel AS text))
                """
            ),
            params,
        ).scalar_one()
    return rows, int(total)


def list_videos(
    engine: Engine,
    *,
    status: str = "active",
    channel_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[pd.DataFrame, int]:
    """``video_rows`` as a DataFrame."""
    rows, total = video_rows(
        engine, status=status, channel_id=channel_id, limit=limit, offset=offset
    )
    return rows.frame(), total


def get_video(engine: Engine, video_id: str) -> dict:
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT video_id, title, channel_id, channel_title, published_at, status, added_at "
                    "FROM ytmetrics.videos WHERE video_id = :vid"
                ),
                {"vid": video_id},
            )
            .mappings()
            .first()
        )
    if row is None:
        raise UnknownVideoError(video_id)
    return dict(row)


def recently_added(engine: Engine, limit: int = 10) -> tuple[pd.DataFrame, int]:
    """The most recently added videos, and how many were added in the last 24 hours."""
    import pandas as pd

    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(
                "SELECT video_id, title, channel_title, published_at, status, added_at "
                "FROM ytmetrics.videos ORDER BY added_at DESC, video_id LIMIT :n"
            ),
            conn,
            params={"n": limit},
        )
        last_day = conn.execute(
            text(
                "SELECT count(*) FROM ytmetrics.videos WHERE added_at > now() - interval '24 hours'"
            )
        ).scalar_one()
    return frame, int(last_day)


VIDEO_SORTS = {
    # sort key -> ORDER BY expression; only these fixed strings ever reach the SQL text
    "added": "added_at",
    "published": "published_at",
    "title": "lower(title)",
    "channel": "lower(channel_title)",
    "views": "latest_views",
    "observed": "last_observed_at",
}


# Which videos the dashboard lists: every filter is a bound parameter, NULL for "any".
_VIDEO_FILTER = """
WHERE (CAST(:status AS text) IS NULL OR v.status = CAST(:status AS text))
  AND (CAST(:channel AS text) IS NULL OR v.channel_id = CAST(:channel AS text))
  AND (CAST(:pattern AS text) IS NULL
       OR v.title ILIKE CAST(:pattern AS text) OR v.video_id ILIKE CAST(:pattern AS text)
       OR v.channel_title ILIKE CAST(:pattern AS text)
       OR v.channel_id ILIKE CAST(:pattern AS text))
"""


_COUNT_VIDEOS = "SELECT count(*) FROM ytmetrics.videos v" + _VIDEO_FILTER  # noqa: S608 - constants


_LIST_VIDEOS = """
SELECT * FROM (
    SELECT v.video_id, v.title, v.channel_id, v.channel_title, v.published_at,
           v.status, v.source, v.added_at, st.last_observed_at,
           st.last_views AS latest_views, b.source AS latest_source
    FROM ytmetrics.videos v
    -- the latest observation is kept per video by the snapshot write
    LEFT JOIN ytmetrics.video_observation_state st USING (video_key)
    LEFT JOIN LATERAL (
        SELECT min(source) AS source FROM ytmetrics.snapshot_batches b
        WHERE b.snapshot_hour = st.last_hour
    ) b ON true
"""


# One statement per sort key and direction, composed once from constants: an ORDER BY cannot
# be a bound parameter, and a request only ever selects one of these by key.
_LIST_VIDEOS_SORTED = {
    (sort, descending): (
        _LIST_VIDEOS
        + _VIDEO_FILTER
        + f") matched ORDER BY {expression} {'DESC' if descending else 'ASC'} NULLS LAST,"
        " video_id LIMIT :limit OFFSET :offset"
    )
    for sort, expression in VIDEO_SORTS.items()
    for descending in (True, False)
}


def _like_pattern(search: str) -> str:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_videos(
    engine: Engine,
    *,
    search: str | None = None,
    status: str = "active",
    channel_id: str | None = None,
    sort: str = "added",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> tuple[pd.DataFrame, int]:
    """Tracked videos matching a case-insensitive substring of title, id, channel title or
    channel id, with each video's latest observation (views, when, source), sorted by one of
    ``VIDEO_SORTS`` (NULLs last, then by id), and the total matching (for paging)."""
    if status != "all" and status not in VIDEO_STATUSES:
        raise InvalidQueryError(
            f"invalid status {status!r}; valid: {', '.join((*VIDEO_STATUSES, 'all'))}"
        )
    if sort not in VIDEO_SORTS:
        raise InvalidQueryError(f"invalid sort {sort!r}; valid: {', '.join(VIDEO_SORTS)}")
    if not 1 <= limit <= 1000:
        raise InvalidQueryError("limit must be between 1 and 1000")
    if offset < 0:
        raise InvalidQueryError("offset must be >= 0")
    params = {
        "status": None if status == "all" else status,
        "channel": channel_id,
        "pattern": _like_pattern(search) if search else None,
    }
    import pandas as pd

    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(_LIST_VIDEOS_SORTED[sort, bool(descending)]),
            conn,
            params={**params, "limit": limit, "offset": offset},
        )
        total = conn.execute(text(_COUNT_VIDEOS), params).scalar_one()
    frame["latest_views"] = frame["latest_views"].astype("Int64")
    return frame, int(total)


def video_channels(engine: Engine) -> pd.DataFrame:
    """Channels of the tracked videos (any status) with how many videos each, by title."""
    import pandas as pd

    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                SELECT channel_id, max(channel_title) AS channel_title, count(*) AS videos
                FROM ytmetrics.videos WHERE channel_id IS NOT NULL
                GROUP BY channel_id ORDER BY lower(max(channel_title)), channel_id
                """
            ),
            conn,
        )


def video_record(engine: Engine, video_id: str) -> dict:
    """Everything ``videos`` knows about one video, its ``source`` included."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    """
                    SELECT video_id, title, channel_id, channel_title, published_at,
                           duration_seconds, status, source, added_at, last_updated,
                           unavailable_since, removed_at
                    FROM ytmetrics.videos WHERE video_id = :v
                    """
                ),
                {"v": video_id},
            )
            .mappings()
            .first()
        )
    if row is None:
        raise UnknownVideoError(video_id)
    return dict(row)


def observed_channels(engine: Engine, limit: int = 10) -> pd.DataFrame:
    """Channels ranked by how many of their active videos were observed in the warehouse's
    latest week, each with its most observed video of that week: where a notebook starts when
    nobody named a video (a channel with several videos, so that its launch curves have a
    median worth comparing to). Reads one week of day partitions, whatever the history's
    length."""
    import pandas as pd

    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                WITH per_video AS (
                    SELECT v.channel_id, v.channel_title, v.video_id, count(*) AS observations
                    FROM ytmetrics.metric_snapshots s JOIN ytmetrics.videos v USING (video_key)
                    WHERE v.status = 'active' AND v.channel_id IS NOT NULL
                      AND s.snapshot_hour > (SELECT max(snapshot_hour) FROM ytmetrics.snapshot_batches)
                                            - interval '7 days'
                    GROUP BY v.channel_id, v.channel_title, v.video_id
                )
                SELECT channel_id, channel_title, count(*) AS videos,
                       sum(observations) AS observations,
                       (array_agg(video_id ORDER BY observations DESC, video_id))[1]
                           AS most_observed_video_id
                FROM per_video
                GROUP BY channel_id, channel_title
                ORDER BY videos DESC, observations DESC, channel_id
                LIMIT :limit
                """
            ),
            conn,
            params={"limit": limit},
        )
