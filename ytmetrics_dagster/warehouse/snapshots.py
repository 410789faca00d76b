"""Writes to ``metric_snapshots``: one hour replaced whole, or new videos added to an hour.

Storage (see migration 0007): day partitions, one lean row per (video_key, hour) holding the
counters and the observation's offset in seconds; the hour's run, source and figures are one
row of ``snapshot_batches``. Every write also keeps ``video_observation_state`` (each video's
two newest observations), so the hourly work never reads the history, and keeps count of the
videos YouTube did not return.

Concurrency: writers of one hour queue on an advisory lock for that hour. Growth rebuilds hold
the exclusive side of a gate that every snapshot write holds shared, so a growth rebuild never
runs while an hour is being (re)written, and sees either none or all of that write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from ytmetrics_dagster.warehouse import day_partitions, locks
from ytmetrics_dagster.warehouse.binds import Bind, connected, transaction
from ytmetrics_dagster.warehouse.sources import HOLDS_OTHER_SQL, other_source, refuse_if_mixed
from ytmetrics_dagster.youtube.models import VideoStatistics

HOUR = timedelta(hours=1)
# Offsets are stored as smallint seconds after the hour.
MAX_OBSERVED_SECONDS = 32_767


class ObservationTimeError(ValueError):
    pass


@dataclass(frozen=True)
class SnapshotWrite:
    rows: int
    newly_unavailable: list[str] = field(default_factory=list)
    # views that fell by more than the tolerance since the previous observation
    decreasing: int = 0
    worst_ratio: float = 1.0
    skipped_already_observed: int = 0


def _hour_key(hour: datetime) -> int:
    return int(hour.timestamp()) // 3600


def _observed_seconds(hour: datetime, observed_at: datetime) -> int:
    seconds = int((observed_at - hour).total_seconds())
    if not 0 <= seconds <= MAX_OBSERVED_SECONDS:
        raise ObservationTimeError(
            f"observation at {observed_at.isoformat()} cannot belong to the hour "
            f"{hour.isoformat()} (it must be taken during or shortly after that hour)"
        )
    return seconds


def _lock_hour(conn: Connection, hour: datetime) -> None:
    """The growth gate (shared), then the hour: one round trip, in that order."""
    locks.xact_lock_shared_then(conn, locks.GROWTH_GATE, locks.SNAPSHOTS, _hour_key(hour))


@dataclass(frozen=True)
class _Staged:
    """The hour's observations as columns, each video by its key: bound as arrays to the
    statements that write them (no temporary table, no COPY: one round trip each)."""

    keys: list[int]
    views: list[int]
    likes: list[int | None]
    comments: list[int | None]

    def params(self) -> dict:
        return {
            "keys": self.keys,
            "views": self.views,
            "likes": self.likes,
            "comments": self.comments,
        }


# The observations as rows (video_key, view_count, like_count, comment_count).
_STAGED_ROWS = """
unnest(CAST(:keys AS integer[]), CAST(:views AS bigint[]), CAST(:likes AS integer[]),
       CAST(:comments AS integer[])) AS n(video_key, view_count, like_count, comment_count)
"""

# Read once the hour is locked, before anything is written: each observation's video_key
# (NULL: not tracked), whether the warehouse holds the other source's data (only asked when
# there are observations), and how many views fell since each video's previous observation.
_STAGE_SQL = f"""
WITH obs AS (
    SELECT o.ord, o.video_id, v.video_key, o.view_count
    FROM unnest(CAST(:ids AS text[]), CAST(:views AS bigint[]))
         WITH ORDINALITY AS o(video_id, view_count, ord)
    LEFT JOIN ytmetrics.videos v ON v.video_id = o.video_id
),
falls AS (
    SELECT count(*) FILTER (WHERE n.view_count < b.views * (1 - :tolerance)) AS decreasing,
           coalesce(min(CAST(n.view_count AS double precision) / nullif(b.views, 0)), 1)
               AS worst
    FROM obs n
    JOIN ytmetrics.video_observation_state st ON st.video_key = n.video_key
    CROSS JOIN LATERAL (
        SELECT CASE WHEN st.last_hour < :hour THEN st.last_views
                    WHEN st.prev_hour < :hour THEN st.prev_views END AS views
    ) b
    WHERE b.views IS NOT NULL
)
SELECT (SELECT coalesce(array_agg(video_key ORDER BY ord), CAST(ARRAY[] AS integer[]))
        FROM obs) AS keys,
       CASE WHEN :check_source THEN {HOLDS_OTHER_SQL} ELSE false END AS other_held,
       falls.decreasing, falls.worst
FROM falls
"""  # noqa: S608 - constants only


@dataclass(frozen=True)
class _Stage:
    staged: _Staged
    decreasing: int
    worst_ratio: float


def _stage(
    conn: Connection,
    hour: datetime,
    observations: Sequence[VideoStatistics],
    source: str,
    decrease_tolerance: float,
) -> _Stage:
    """The observations keyed by video_key, in one round trip that also refuses a mixed
    source (asked only when there are observations: a write without any adds no data of any
    source) and an id we do not know (a bug upstream)."""
    other = other_source(source) if observations else None
    row = conn.execute(
        text(_STAGE_SQL),
        {
            "ids": [o.video_id for o in observations],
            "views": [o.view_count for o in observations],
            "hour": hour,
            "tolerance": decrease_tolerance,
            "check_source": bool(observations),
            "other": other,
        },
    ).one()
    refuse_if_mixed(source, row.other_held)
    unknown = [o.video_id for o, key in zip(observations, row.keys, strict=True) if key is None]
    if unknown:
        raise ValueError(f"observations for videos that are not tracked: {sorted(unknown)[:5]}")
    staged = _Staged(
        keys=list(row.keys),
        views=[o.view_count for o in observations],
        likes=[o.like_count for o in observations],
        comments=[o.comment_count for o in observations],
    )
    return _Stage(staged, int(row.decreasing), float(row.worst))


# The common case: the hour written is the video's newest. Older hours (simulator backfills)
# are left to rebuild_state.
_ADVANCE_STATE_SQL = (
    """
INSERT INTO ytmetrics.video_observation_state AS st
    (video_key, last_hour, last_observed_at, last_views, last_likes, last_comments)
SELECT video_key, :hour, :observed_at, view_count, like_count, comment_count
FROM """
    + _STAGED_ROWS
    + """
WHERE CAST(:advance AS integer[]) IS NULL OR video_key = ANY(:advance)
ON CONFLICT (video_key) DO UPDATE SET
    prev_hour        = CASE WHEN st.last_hour < EXCLUDED.last_hour THEN st.last_hour ELSE st.prev_hour END,
    prev_observed_at = CASE WHEN st.last_hour < EXCLUDED.last_hour THEN st.last_observed_at ELSE st.prev_observed_at END,
    prev_views       = CASE WHEN st.last_hour < EXCLUDED.last_hour THEN st.last_views ELSE st.prev_views END,
    prev_likes       = CASE WHEN st.last_hour < EXCLUDED.last_hour THEN st.last_likes ELSE st.prev_likes END,
    prev_comments    = CASE WHEN st.last_hour < EXCLUDED.last_hour THEN st.last_comments ELSE st.prev_comments END,
    last_hour        = EXCLUDED.last_hour,
    last_observed_at = EXCLUDED.last_observed_at,
    last_views       = EXCLUDED.last_views,
    last_likes       = EXCLUDED.last_likes,
    last_comments    = EXCLUDED.last_comments
WHERE st.last_hour <= EXCLUDED.last_hour
RETURNING video_key
"""
)

# The two newest observations of some videos, from the history (rare paths only).
_REBUILD_STATE_SQL = """
INSERT INTO ytmetrics.video_observation_state
    (video_key, last_hour, last_observed_at, last_views, last_likes, last_comments,
     prev_hour, prev_observed_at, prev_views, prev_likes, prev_comments)
SELECT k.video_key, l.snapshot_hour, l.snapshot_hour + make_interval(secs => l.observed_seconds),
       l.view_count, l.like_count, l.comment_count,
       p.snapshot_hour, p.snapshot_hour + make_interval(secs => p.observed_seconds),
       p.view_count, p.like_count, p.comment_count
FROM unnest(CAST(:keys AS integer[])) AS k(video_key)
CROSS JOIN LATERAL (
    SELECT * FROM ytmetrics.metric_snapshots s
    WHERE s.video_key = k.video_key ORDER BY s.snapshot_hour DESC LIMIT 1
) l
LEFT JOIN LATERAL (
    SELECT * FROM ytmetrics.metric_snapshots s
    WHERE s.video_key = k.video_key AND s.snapshot_hour < l.snapshot_hour
    ORDER BY s.snapshot_hour DESC LIMIT 1
) p ON true
"""


def rebuild_state(conn: Connection, video_keys: Sequence[int]) -> None:
    """Recompute the observation state of these videos from their stored history."""
    keys = sorted(set(video_keys))
    if not keys:
        return
    conn.execute(
        text("DELETE FROM ytmetrics.video_observation_state WHERE video_key = ANY(:keys)"),
        {"keys": keys},
    )
    conn.execute(text(_REBUILD_STATE_SQL), {"keys": keys})


# Of these videos, those whose state an (older) rewritten hour can change: the hour is, or
# is newer than, the second newest observation the state holds (or it holds only one).
_STATE_REACHES_HOUR_SQL = """
SELECT video_key FROM ytmetrics.video_observation_state
WHERE video_key = ANY(:keys) AND (prev_hour IS NULL OR prev_hour <= :hour)
"""


def _update_state(
    conn: Connection,
    hour: datetime,
    observed_at: datetime,
    staged: _Staged,
    keys: list[int],
    removed: Sequence[int] = (),
) -> None:
    """Advance the record of the videos observed at ``hour`` (``keys``); re-read the history
    of those it does not advance and of the ``removed`` (their observation of ``hour`` is gone)
    where the change can reach their record: a backfill of an old hour leaves the record of
    every video observed twice since untouched. Holds the record's lock until the write
    commits."""
    locks.xact_lock_exclusive(conn, locks.OBSERVATION_STATE)
    advanced = set()
    if keys:
        # NULL: every staged video (no per-row search of a long array)
        advance = None if set(keys) == set(staged.keys) else keys
        advanced = {
            r.video_key
            for r in conn.execute(
                text(_ADVANCE_STATE_SQL),
                {"hour": hour, "observed_at": observed_at, "advance": advance, **staged.params()},
            )
        }
    stale = sorted({k for k in keys if k not in advanced} | set(removed))
    if stale:
        reached = conn.execute(text(_STATE_REACHES_HOUR_SQL), {"keys": stale, "hour": hour})
        rebuild_state(conn, [r.video_key for r in reached])


# The hour's batch record, and the miss count of the videos YouTube returned set back to
# zero (different tables: one round trip).
_RECORD_BATCH_SQL = """
WITH seen AS (
    UPDATE ytmetrics.videos SET consecutive_misses = 0
    WHERE video_id = ANY(:seen) AND consecutive_misses <> 0
)
INSERT INTO ytmetrics.snapshot_batches
    (snapshot_hour, kind, source, run_id, observed_at, videos_due, videos_written,
     videos_missing, api_calls)
VALUES (:hour, :kind, :source, :run_id, :observed_at, :videos_due, :videos_written,
        :videos_missing, :api_calls)
"""


_INSERT_STAGED = (
    """
INSERT INTO ytmetrics.metric_snapshots
    (snapshot_hour, view_count, video_key, like_count, comment_count, observed_seconds)
SELECT :hour, view_count, video_key, like_count, comment_count, :seconds
FROM """
    + _STAGED_ROWS
    + """ ORDER BY video_key
"""
)


@dataclass(frozen=True)
class _Facts:
    """What a write of an hour knows besides the observations."""

    observed_at: datetime
    source: str
    run_id: str | None
    missing_ids: Sequence[str]
    unavailable_after_misses: int
    videos_due: int | None
    api_calls: int | None


def _begin(
    conn: Connection, hour: datetime, facts: _Facts, observations, decrease_tolerance: float
) -> tuple[int, _Stage]:
    """Lock the hour, make sure its partition exists, stage the observations (refusing a
    mixed source and unknown videos); returns the observation's offset in the hour and the
    staged observations. A write without observations (no call was made: its source is only
    the configured one) adds no data of any source."""
    seconds = _observed_seconds(hour, facts.observed_at)
    _lock_hour(conn, hour)
    # refused (mixed source, unknown videos) before any partition is made
    stage = _stage(conn, hour, observations, facts.source, decrease_tolerance)
    day_partitions.prepare_window(conn, "metric_snapshots", hour, hour + HOUR)
    return seconds, stage


def _finish(conn: Connection, hour: datetime, kind: str, facts: _Facts, written: int, observations):
    """The hour's batch facts and the count of videos YouTube did not return."""
    conn.execute(
        text(_RECORD_BATCH_SQL),
        {
            "hour": hour,
            "kind": kind,
            "source": facts.source,
            "run_id": facts.run_id,
            "observed_at": facts.observed_at,
            "videos_due": facts.videos_due,
            "videos_written": written,
            "videos_missing": len(facts.missing_ids),
            "api_calls": facts.api_calls,
            "seen": [o.video_id for o in observations],
        },
    )
    return _track_misses(
        conn,
        hour,
        list(facts.missing_ids),
        facts.unavailable_after_misses,
        facts.observed_at,
    )


def replace_snapshot_partition(
    bind: Bind,
    snapshot_hour: datetime,
    observations: Sequence[VideoStatistics],
    *,
    observed_at: datetime,
    source: str,
    run_id: str | None = None,
    missing_ids: Sequence[str] = (),
    unavailable_after_misses: int = 3,
    videos_due: int | None = None,
    api_calls: int | None = None,
    decrease_tolerance: float = 0.001,
) -> SnapshotWrite:
    """Make the hour ``snapshot_hour`` hold exactly ``observations``, in one transaction, and
    keep count of the videos YouTube did not return: after ``unavailable_after_misses``
    consecutive missed observations a video becomes ``unavailable`` and stops costing quota.
    ``bind``: an engine, or a connection not inside a transaction (the write is its own)."""
    facts = _Facts(
        observed_at, source, run_id, missing_ids, unavailable_after_misses, videos_due, api_calls
    )
    with transaction(bind) as conn:
        seconds, stage = _begin(conn, snapshot_hour, facts, observations, decrease_tolerance)
        staged = stage.staged
        hour = {"hour": snapshot_hour}
        replaced = [
            r.video_key
            for r in conn.execute(
                text(
                    "WITH batches AS (DELETE FROM ytmetrics.snapshot_batches"
                    " WHERE snapshot_hour = :hour)"
                    " DELETE FROM ytmetrics.metric_snapshots WHERE snapshot_hour = :hour"
                    " RETURNING video_key"
                ),
                hour,
            )
        ]
        conn.execute(text(_INSERT_STAGED), {**hour, "seconds": seconds, **staged.params()})
        keys = staged.keys
        # videos whose earlier observation of this hour is gone: their record may name it
        _update_state(conn, snapshot_hour, observed_at, staged, keys, set(replaced) - set(keys))
        newly_unavailable = _finish(conn, snapshot_hour, "hour", facts, len(keys), observations)
    return SnapshotWrite(
        rows=len(keys),
        newly_unavailable=newly_unavailable,
        decreasing=stage.decreasing,
        worst_ratio=stage.worst_ratio,
    )


def add_new_video_observations(
    bind: Bind,
    snapshot_hour: datetime,
    observations: Sequence[VideoStatistics],
    *,
    observed_at: datetime,
    source: str,
    run_id: str | None = None,
    missing_ids: Sequence[str] = (),
    unavailable_after_misses: int = 3,
    videos_due: int | None = None,
    api_calls: int | None = None,
) -> SnapshotWrite:
    """Add observations of videos the hour does not hold yet (newly registered videos),
    leaving every existing observation of the hour as it is."""
    facts = _Facts(
        observed_at, source, run_id, missing_ids, unavailable_after_misses, videos_due, api_calls
    )
    with transaction(bind) as conn:
        seconds, stage = _begin(conn, snapshot_hour, facts, observations, 0.0)
        staged = stage.staged
        added = [
            r.video_key
            for r in conn.execute(
                text(
                    _INSERT_STAGED + " ON CONFLICT (video_key, snapshot_hour) DO NOTHING"
                    " RETURNING video_key"
                ),
                {"hour": snapshot_hour, "seconds": seconds, **staged.params()},
            )
        ]
        if added:
            _update_state(conn, snapshot_hour, observed_at, staged, added)
        # a missed new video counts once, like any other miss
        newly_unavailable = _finish(
            conn, snapshot_hour, "new_videos", facts, len(added), observations
        )
    return SnapshotWrite(
        rows=len(added),
        newly_unavailable=newly_unavailable,
        skipped_already_observed=len(observations) - len(added),
    )


def never_observed(bind: Bind, video_ids: Sequence[str], snapshot_hour: datetime) -> list[str]:
    """Those of ``video_ids`` with no observation at all (newly registered videos), and none
    in ``snapshot_hour`` either, in the given order."""
    with connected(bind) as conn:
        seen = {
            r.video_id
            for r in conn.execute(
                text(
                    """
                    SELECT v.video_id FROM ytmetrics.videos v
                    WHERE v.video_id = ANY(:ids)
                      AND (EXISTS (SELECT 1 FROM ytmetrics.video_observation_state st
                                   WHERE st.video_key = v.video_key)
                           OR EXISTS (SELECT 1 FROM ytmetrics.metric_snapshots s
                                      WHERE s.video_key = v.video_key
                                        AND s.snapshot_hour = :hour))
                    """
                ),
                {"ids": list(video_ids), "hour": snapshot_hour},
            )
        }
    return [v for v in video_ids if v not in seen]


def _track_misses(conn, hour, missing: list[str], limit: int, now) -> list[str]:
    """Count a miss of each video YouTube left out (those it returned were set back to zero
    with the batch record); returns those it made unavailable."""
    if not missing:
        return []
    # Re-running the same hour must not count the same miss twice.
    conn.execute(
        text(
            """
            UPDATE ytmetrics.videos
            SET consecutive_misses = consecutive_misses + 1, last_missed_hour = :hour
            WHERE video_id = ANY(:missing)
              AND last_missed_hour IS DISTINCT FROM CAST(:hour AS timestamptz)
            """
        ),
        {"missing": missing, "hour": hour},
    )
    rows = conn.execute(
        text(
            """
            UPDATE ytmetrics.videos
            SET status = 'unavailable', unavailable_since = :now, last_updated = :now
            WHERE video_id = ANY(:missing) AND status = 'active' AND consecutive_misses >= :limit
            RETURNING video_id
            """
        ),
        {"missing": missing, "limit": limit, "now": now},
    )
    return sorted(r.video_id for r in rows)
