"""Writes to ``metric_snapshots``: one hourly partition replaced whole, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, text

from ytmetrics_dagster.youtube.models import VideoStatistics

# Advisory-lock namespace: concurrent runs of the same partition queue up instead of
# interleaving their DELETE and COPY.
_SNAPSHOT_LOCK_NS = 0x736E6170  # "snap"


def replace_snapshot_partition(
    engine: Engine,
    snapshot_hour: datetime,
    observations: Sequence[VideoStatistics],
    *,
    observed_at: datetime,
    source: str,
    run_id: str | None = None,
) -> int:
    """Make the partition ``snapshot_hour`` hold exactly ``observations`` (COPY, one txn)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock(:ns, CAST(extract(epoch FROM CAST(:hour AS timestamptz)) / 3600 AS integer))"
            ),
            {"ns": _SNAPSHOT_LOCK_NS, "hour": snapshot_hour},
        )
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
    return len(observations)


def partition_summary(engine: Engine, snapshot_hour: datetime) -> dict[str, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                SELECT count(*) AS rows, coalesce(sum(view_count), 0) AS total_views
                FROM ytmetrics.metric_snapshots WHERE snapshot_hour = :hour
                """
            ),
            {"hour": snapshot_hour},
        ).one()
        return {"rows": int(row.rows), "total_views": int(row.total_views)}
