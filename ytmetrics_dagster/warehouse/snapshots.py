"""Writes to ``metric_snapshots``: one hourly partition replaced whole, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.warehouse.locks import xact_lock
from ytmetrics_dagster.youtube.models import VideoStatistics


def replace_snapshot_partition(
    engine: Engine,
    snapshot_hour: datetime,
    observations: Sequence[VideoStatistics],
    *,
    observed_at: datetime,
    source: str,
    run_id: str | None = None,
    missing_ids: Sequence[str] = (),
    unavailable_after_misses: int = 3,
) -> SnapshotWrite:
    """Make the partition ``snapshot_hour`` hold exactly ``observations`` (COPY), and in the
    same transaction keep count of videos YouTube did not return: after
    ``unavailable_after_misses`` consecutive missed hours a video becomes ``unavailable`` and
    stops costing quota."""
    with engine.begin() as conn:
        xact_lock(conn, locks.SNAPSHOTS, int(snapshot_hour.timestamp()) // 3600)
        conn.execute(
            text("DELETE FROM ytmetrics.metric_snapshots WHERE snapshot_hour = :hour"),
            {"hour": snapshot_hour},
        )
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(
            "COPY ytmetrics.metric_snapshots (video_id, snapshot_hour, observed_at, view_count,"
            " like_count, comment_count, source, run_id) FROM STDIN"
        ) as copy:
            for o in observations:
                copy.write_row(
                    (
                        o.video_id,
                        snapshot_hour,
                        observed_at,
                        o.view_count,
                        o.like_count,
                        o.comment_count,
                        source,
                        run_id,
                    )
                )
        cursor.close()
        newly_unavailable = _track_misses(
            conn,
            snapshot_hour,
            [o.video_id for o in observations],
            list(missing_ids),
            unavailable_after_misses,
            observed_at,
        )
    return SnapshotWrite(rows=len(observations), newly_unavailable=newly_unavailable)


@dataclass(frozen=True)
class SnapshotWrite:
    rows: int
    newly_unavailable: list[str]


def _track_misses(conn, hour, seen: list[str], missing: list[str], limit: int, now) -> list[str]:
    conn.execute(
        text(
            """
            UPDATE ytmetrics.videos SET consecutive_misses = 0
            WHERE video_id = ANY(:seen) AND consecutive_misses <> 0
            """
        ),
        {"seen": seen},
    )
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
