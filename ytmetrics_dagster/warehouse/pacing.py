"""Which due videos an hour's quota allowance covers, the deferral of the rest, operators'
pins, and the deferral figures the surfaces show (see ytmetrics_dagster.domain.pacing).

The priority order, one ``row_number()`` over the hour's due videos:

1. pinned videos (``ytmetrics pin``), higher priority first;
2. videos in their first 48 hours after publication;
3. shorter cadence interval first (the age tier: hourly before 6-hourly before daily);
4. the longest unobserved first (never observed before anything else);
5. the video id, so the order is total and a re-run of the hour picks the same videos.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.videos import DUE_SQL, UnknownVideoError, due_params

FIRST_HOURS = 48

# DUE_SQL is a constant: the ranked selection wraps it, no value is formatted into SQL.
RANKED_DUE_SQL = (
    "WITH due AS ("  # noqa: S608 - constants only
    + DUE_SQL
    + """),
ranked AS (
    SELECT d.video_id, d.video_key, d.every_hours,
           coalesce(d.published_at > CAST(:hour AS timestamptz)
                                     - make_interval(hours => :first_hours), false) AS first_48h,
           row_number() OVER (
               ORDER BY coalesce(p.priority, 0) DESC,
                        coalesce(d.published_at > CAST(:hour AS timestamptz)
                                 - make_interval(hours => :first_hours), false) DESC,
                        d.every_hours ASC,
                        d.last_hour ASC NULLS FIRST,
                        d.video_id
           ) AS priority_rank
    FROM due d
    LEFT JOIN ytmetrics.video_priorities p ON p.video_key = d.video_key
),
deferred AS (
    INSERT INTO ytmetrics.deferred_observations
        (snapshot_hour, video_key, reason, every_hours, first_48h, priority_rank, run_id,
         deferred_at)
    SELECT :hour, video_key, :reason, every_hours, first_48h, priority_rank, :run_id, :now
    FROM ranked WHERE priority_rank > :limit
    RETURNING 1
)
SELECT video_id, priority_rank, (SELECT count(*) FROM ranked) AS n_due
FROM ranked WHERE priority_rank <= :limit
ORDER BY priority_rank
"""
)


def select_due(
    engine: Engine,
    hour: datetime,
    observe_at: datetime,
    tiers: list[dict],
    anchor_hour: int,
    *,
    limit: int,
    reason: str,
    run_id: str | None,
    now: datetime,
) -> tuple[list[str], int]:
    """The ``limit`` first due videos of ``hour`` in priority order, and how many were
    deferred; the deferred ones replace the hour's earlier deferrals, in one transaction."""
    params = {
        **due_params(hour, observe_at, tiers, anchor_hour),
        "first_hours": FIRST_HOURS,
        "limit": max(limit, 0),
        "reason": reason[:500],
        "run_id": run_id,
        "now": now,
    }
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM ytmetrics.deferred_observations WHERE snapshot_hour = :hour"),
            {"hour": hour},
        )
        rows = conn.execute(text(RANKED_DUE_SQL), params).all()
        deferred = conn.execute(
            text("SELECT count(*) FROM ytmetrics.deferred_observations WHERE snapshot_hour = :h"),
            {"h": hour},
        ).scalar_one()
    return [r.video_id for r in rows], int(deferred)


def clear_deferrals(engine: Engine, hour: datetime) -> None:
    """A run that observed every due video of the hour leaves no deferral behind."""
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM ytmetrics.deferred_observations WHERE snapshot_hour = :hour"),
            {"hour": hour},
        )


def deferred_counts_by_hour(engine: Engine, start: datetime, end: datetime) -> dict[datetime, int]:
    """Videos deferred per snapshot hour in [start, end) (hours without deferrals absent)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT snapshot_hour, count(*) AS n FROM ytmetrics.deferred_observations
                WHERE snapshot_hour >= :start AND snapshot_hour < :end
                GROUP BY snapshot_hour ORDER BY snapshot_hour
                """
            ),
            {"start": start, "end": end},
        )
        return {r.snapshot_hour: int(r.n) for r in rows}


def deferred_by_tier(engine: Engine, start: datetime, end: datetime) -> dict[str, int]:
    """Deferrals in [start, end) by tier: ``first_48h`` and then ``every_<N>h``."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT CASE WHEN first_48h THEN 'first_48h'
                            ELSE 'every_' || every_hours || 'h' END AS tier,
                       count(*) AS n
                FROM ytmetrics.deferred_observations
                WHERE snapshot_hour >= :start AND snapshot_hour < :end
                GROUP BY 1 ORDER BY 1
                """
            ),
            {"start": start, "end": end},
        )
        return {r.tier: int(r.n) for r in rows}


def units_by_method(engine: Engine, day) -> dict[str, int]:
    """Units of the quota day by bucket and method, e.g. ``default:videos``."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT bucket, method, sum(units) AS units FROM ytmetrics.api_calls
                WHERE quota_day = :day GROUP BY bucket, method ORDER BY bucket, method
                """
            ),
            {"day": day},
        )
        return {f"{r.bucket}:{r.method}": int(r.units) for r in rows}


# -- operators' priority ---------------------------------------------------------------------


def pin(engine: Engine, video_id: str, *, priority: int = 1, by: str | None = None) -> bool:
    """Pin a tracked video (observed first when an hour's allowance is short). Returns False
    if it was already pinned (its priority is updated). Unknown id -> UnknownVideoError."""
    if priority < 1:
        raise ValueError("priority must be at least 1")
    with engine.begin() as conn:
        key = conn.execute(
            text("SELECT video_key FROM ytmetrics.videos WHERE video_id = :vid"),
            {"vid": video_id},
        ).scalar()
        if key is None:
            raise UnknownVideoError(video_id)
        inserted = conn.execute(
            text(
                """
                INSERT INTO ytmetrics.video_priorities (video_key, priority, pinned_by)
                VALUES (:key, :priority, :by)
                ON CONFLICT (video_key) DO UPDATE SET priority = EXCLUDED.priority
                RETURNING (xmax = 0) AS inserted
                """
            ),
            {"key": key, "priority": priority, "by": by},
        ).scalar_one()
    return bool(inserted)


def unpin(engine: Engine, video_id: str) -> bool:
    """Remove a video's pin; False if it had none. Unknown id -> UnknownVideoError."""
    with engine.begin() as conn:
        key = conn.execute(
            text("SELECT video_key FROM ytmetrics.videos WHERE video_id = :vid"),
            {"vid": video_id},
        ).scalar()
        if key is None:
            raise UnknownVideoError(video_id)
        return (
            conn.execute(
                text("DELETE FROM ytmetrics.video_priorities WHERE video_key = :key"),
                {"key": key},
            ).rowcount
            > 0
        )


def pinned(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT v.video_id, p.priority, p.pinned_at FROM ytmetrics.video_priorities p
                JOIN ytmetrics.videos v USING (video_key)
                ORDER BY p.priority DESC, v.video_id
                """
            )
        )
        return [dict(r._mapping) for r in rows]
