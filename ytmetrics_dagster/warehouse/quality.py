"""Data-quality queries behind the Dagster asset checks. Each returns plain numbers.

Every check here can fail on data the constraints allow: a partial answer from the API, an
observation taken after its hour, real and simulated observations of one video, growth rows
computed before a snapshot hour was rewritten, hours nobody observed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.growth import HOURLY_GROWTH_SELECT

HOUR = timedelta(hours=1)

# Coverage: the share of the videos due in an hour that the hour holds an observation of.
# A due video is missing only when YouTube leaves it out of its answer (private, deleted); it
# is asked for at most `unavailable_after_misses` more times and then stops being due, so in
# steady state only a handful of videos are missing in any hour (the simulator retires about
# 5 % of videos over their whole life). More than 10 % of the due set missing at once, or
# more than 2 videos of a small set, is not churn: a partial answer, ids lost between the
# plan and the write, or a mass removal that needs a human look.
MIN_COVERAGE = 0.9
ALWAYS_ALLOWED_MISSING = 2


def allowed_missing(due: int) -> int:
    return max(ALWAYS_ALLOWED_MISSING, math.floor((1 - MIN_COVERAGE) * due + 1e-9))


def hour_coverage(engine: Engine, start: datetime, end: datetime) -> list[dict]:
    """Per snapshot hour in [start, end) that has batches: videos due, observed and missing,
    summed over the hour's batches (the hour's run plus any new-videos additions)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT snapshot_hour,
                       -- migrated batches of the old schema recorded no due count
                       sum(coalesce(videos_due, videos_written)) AS due,
                       sum(videos_written) AS written,
                       sum(coalesce(videos_missing, 0)) AS missing,
                       count(*) AS batches
                FROM ytmetrics.snapshot_batches
                WHERE snapshot_hour >= :start AND snapshot_hour < :end
                GROUP BY snapshot_hour ORDER BY snapshot_hour
                """
            ),
            {"start": start, "end": end},
        )
        return [
            {
                "snapshot_hour": r.snapshot_hour,
                "due": int(r.due),
                "written": int(r.written),
                "missing": int(r.missing),
                "batches": int(r.batches),
                "coverage": (int(r.written) / int(r.due)) if r.due else 1.0,
                "passed": int(r.due) - int(r.written) <= allowed_missing(int(r.due)),
            }
            for r in rows
        ]


def observations_outside_their_hour(engine: Engine, start: datetime, end: datetime) -> dict:
    """Rows of [start, end) read by the real API after their hour had closed. The simulator
    answers closed hours "as of" a minute inside them, so only 'youtube' hours can fail."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                WITH real_hours AS (
                    SELECT DISTINCT snapshot_hour FROM ytmetrics.snapshot_batches
                    WHERE snapshot_hour >= :start AND snapshot_hour < :end AND source = 'youtube'
                )
                SELECT count(*) AS youtube_rows,
                       count(*) FILTER (WHERE s.observed_seconds >= 3600) AS outside,
                       coalesce(max(s.observed_seconds), 0) AS max_seconds,
                       array_agg(DISTINCT s.snapshot_hour ORDER BY s.snapshot_hour)
                           FILTER (WHERE s.observed_seconds >= 3600) AS hours
                FROM ytmetrics.metric_snapshots s JOIN real_hours h USING (snapshot_hour)
                WHERE s.snapshot_hour >= :start AND s.snapshot_hour < :end
                """
            ),
            {"start": start, "end": end},
        ).one()
    return {
        "youtube_rows": int(row.youtube_rows),
        "outside": int(row.outside),
        "max_seconds_after_hour": int(row.max_seconds),
        "hours": [h.isoformat() for h in (row.hours or [])],
    }


def source_conflicts(engine: Engine, start: datetime, end: datetime) -> dict:
    """Hours of [start, end) written by more than one source, and videos observed there
    from a source other than the one they were registered from."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                WITH hour_sources AS (
                    SELECT snapshot_hour, array_agg(DISTINCT source ORDER BY source) AS sources
                    FROM ytmetrics.snapshot_batches
                    WHERE snapshot_hour >= :start AND snapshot_hour < :end
                    GROUP BY snapshot_hour
                ),
                conflicts AS (
                    SELECT DISTINCT v.video_id
                    FROM ytmetrics.metric_snapshots s
                    JOIN hour_sources h USING (snapshot_hour)
                    JOIN ytmetrics.videos v USING (video_key)
                    WHERE s.snapshot_hour >= :start AND s.snapshot_hour < :end
                      AND h.sources <> ARRAY[v.source]
                )
                SELECT (SELECT count(*) FROM hour_sources WHERE cardinality(sources) > 1)
                           AS mixed_hours,
                       (SELECT count(*) FROM conflicts) AS videos,
                       (SELECT array_agg(video_id) FROM
                           (SELECT video_id FROM conflicts ORDER BY video_id LIMIT 10) x)
                           AS examples
                """
            ),
            {"start": start, "end": end},
        ).one()
    return {
        "mixed_hours": int(row.mixed_hours),
        "videos": int(row.videos),
        "examples": list(row.examples or []),
    }


# Stored growth rows of the window against the same rows recomputed now from the snapshots as
# committed (HOURLY_GROWTH_SELECT is what the rebuild inserts). Floats are compared with a
# relative tolerance; everything else exactly.
_GROWTH_DIFF_SQL = f"""
WITH expected AS ({HOURLY_GROWTH_SELECT}),
stored AS (
    SELECT * FROM ytmetrics.video_growth_hourly
    WHERE snapshot_hour >= :start AND snapshot_hour < :end
),
compared AS (
    SELECT coalesce(e.video_key, s.video_key) AS video_key,
           coalesce(e.snapshot_hour, s.snapshot_hour) AS snapshot_hour,
           e.video_key IS NOT NULL AS in_expected,
           s.video_key IS NOT NULL AS in_stored,
           (e.observed_at IS DISTINCT FROM s.observed_at
            OR e.prev_observed_at IS DISTINCT FROM s.prev_observed_at
            OR e.view_count IS DISTINCT FROM s.view_count
            OR e.views_gained IS DISTINCT FROM s.views_gained
            OR e.like_count IS DISTINCT FROM s.like_count
            OR e.comment_count IS DISTINCT FROM s.comment_count
            OR e.likes_gained IS DISTINCT FROM s.likes_gained
            OR e.comments_gained IS DISTINCT FROM s.comments_gained
            OR (e.hours_elapsed IS NULL) <> (s.hours_elapsed IS NULL)
            OR abs(e.hours_elapsed - s.hours_elapsed) > 1e-9 * greatest(1, abs(e.hours_elapsed))
            OR (e.views_per_hour IS NULL) <> (s.views_per_hour IS NULL)
            OR abs(e.views_per_hour - s.views_per_hour) > 1e-9 * greatest(1, abs(e.views_per_hour))
           ) AS differs
    FROM expected e
    FULL JOIN stored s ON s.video_key = e.video_key AND s.snapshot_hour = e.snapshot_hour
),
bad AS (
    SELECT * FROM compared WHERE NOT in_expected OR NOT in_stored OR differs
)
SELECT (SELECT count(*) FILTER (WHERE in_expected) FROM compared) AS expected_rows,
       (SELECT count(*) FILTER (WHERE in_stored) FROM compared) AS stored_rows,
       (SELECT count(*) FILTER (WHERE NOT in_stored) FROM bad) AS missing,
       (SELECT count(*) FILTER (WHERE NOT in_expected) FROM bad) AS unexpected,
       (SELECT count(*) FILTER (WHERE in_expected AND in_stored) FROM bad) AS differing,
       (SELECT array_agg(v.video_id || ' @ ' || to_char(b.snapshot_hour AT TIME ZONE 'UTC',
                                                         'YYYY-MM-DD HH24:00'))
        FROM (SELECT * FROM bad ORDER BY snapshot_hour, video_key LIMIT 10) b
        JOIN ytmetrics.videos v USING (video_key)) AS examples
"""  # noqa: S608


def growth_differences(engine: Engine, start: datetime, end: datetime) -> dict:
    """How the stored hourly growth of [start, end) differs from the snapshots as they are
    now: rows missing, rows with no snapshot behind them, rows with other values."""
    with engine.connect() as conn:
        row = conn.execute(text(_GROWTH_DIFF_SQL), {"start": start, "end": end}).one()
    return {
        "expected_rows": int(row.expected_rows),
        "stored_rows": int(row.stored_rows),
        "missing": int(row.missing),
        "unexpected": int(row.unexpected),
        "differing": int(row.differing),
        "examples": list(row.examples or []),
    }


def tracking_started_at(engine: Engine) -> datetime | None:
    """When the first video was put under tracking: no hour before it can be missing."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT min(added_at) FROM ytmetrics.videos")).scalar_one()


def unobserved_hours(engine: Engine, hours: int, now: datetime | None = None) -> dict:
    """Closed hours among the last ``hours`` that hold no full observation (no run wrote the
    hour; hours that only received new videos count as unobserved), counting only hours since
    tracking began, with the reasons recorded for hours the pipeline knows it missed. The hour
    tracking began in counts as observed if anything observed it: the videos registered then
    were observed at once, and there was nothing else to observe."""
    now = now or datetime.now(UTC)
    current = now.replace(minute=0, second=0, microsecond=0)
    started = tracking_started_at(engine)
    if started is None:
        return {"checked_hours": 0, "missing": [], "reasons": {}, "since": None}
    first = max(current - hours * HOUR, started.replace(minute=0, second=0, microsecond=0))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT h AS snapshot_hour, m.reason
                FROM generate_series(CAST(:first AS timestamptz), CAST(:last AS timestamptz),
                                     interval '1 hour') AS h
                LEFT JOIN ytmetrics.missed_hours m ON m.snapshot_hour = h
                WHERE NOT EXISTS (
                    SELECT 1 FROM ytmetrics.snapshot_batches b
                    WHERE b.snapshot_hour = h
                      AND (b.kind IN ('hour', 'migrated') OR h = CAST(:started AS timestamptz)))
                ORDER BY h
                """
            ),
            {
                "first": first,
                "last": current - HOUR,
                "started": started.replace(minute=0, second=0, microsecond=0),
            },
        ).all()
    checked = max(0, int((current - first) / HOUR))
    return {
        "checked_hours": checked,
        "missing": [r.snapshot_hour for r in rows],
        "reasons": {r.snapshot_hour: r.reason for r in rows if r.reason},
        "since": first,
    }


def sources_between(
    engine: Engine, start: datetime | None = None, end: datetime | None = None
) -> str:
    """Where the observations came from ('simulator', 'youtube' or both): of the snapshots
    in [start, end), or of the tracked videos when no window is given."""
    with engine.connect() as conn:
        if start is None or end is None:
            value = conn.execute(
                text(
                    "SELECT string_agg(DISTINCT source, ',' ORDER BY source) FROM ytmetrics.videos"
                )
            ).scalar_one()
        else:
            value = conn.execute(
                text(
                    "SELECT string_agg(DISTINCT source, ',' ORDER BY source) FROM ytmetrics.snapshot_batches "
                    "WHERE snapshot_hour >= :start AND snapshot_hour < :end"
                ),
                {"start": start, "end": end},
            ).scalar_one()
    return value or "none"
