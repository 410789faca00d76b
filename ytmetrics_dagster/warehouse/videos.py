"""Writes to ``videos``, and the outcome of registration requests (the queue itself is in
``registrations``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.binds import Bind, connected

# The queue moved to ``registrations``; these names stay importable from here.
from ytmetrics_dagster.warehouse.registrations import RegistrationRequest as RegistrationRequest
from ytmetrics_dagster.warehouse.registrations import pending_registrations as pending_registrations
from ytmetrics_dagster.warehouse.registrations import pending_summary as pending_summary
from ytmetrics_dagster.warehouse.registrations import queue_registrations as queue_registrations
from ytmetrics_dagster.warehouse.sources import assert_source_allowed
from ytmetrics_dagster.youtube.models import VideoDetails

VIDEO_STATUSES = ("active", "unavailable", "removed")


class UnknownVideoError(LookupError):
    def __init__(self, video_id: str):
        super().__init__(f"video {video_id!r} is not tracked (see `ytmetrics videos --status all`)")
        self.video_id = video_id


def _json(rows: list[dict]) -> str:
    return json.dumps(rows, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


def _details_rows(details: Iterable[VideoDetails], source: str) -> list[dict]:
    return [
        {
            "video_id": d.video_id,
            "title": d.title,
            "channel_id": d.channel_id,
            "channel_title": d.channel_title,
            "published_at": d.published_at,
            "duration_seconds": d.duration_seconds,
            "source": source,
        }
        for d in details
    ]


_UPSERT_VIDEOS = """
    INSERT INTO ytmetrics.videos AS v
        (video_id, title, channel_id, channel_title, published_at, duration_seconds,
         status, source, details_fetched_at, last_updated)
    SELECT r.video_id, r.title, r.channel_id, r.channel_title, r.published_at,
           r.duration_seconds, 'active', r.source, :now, :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        video_id text, title text, channel_id text, channel_title text,
        published_at timestamptz, duration_seconds integer, source text)
    ON CONFLICT (video_id) DO UPDATE SET
        title = EXCLUDED.title,
        channel_id = EXCLUDED.channel_id,
        channel_title = EXCLUDED.channel_title,
        published_at = EXCLUDED.published_at,
        duration_seconds = EXCLUDED.duration_seconds,
        source = EXCLUDED.source,
        details_fetched_at = EXCLUDED.details_fetched_at,
        last_updated = EXCLUDED.last_updated,
        -- registering again reactivates a removed video; an unavailable video that YouTube
        -- returns again is back
        status = CASE WHEN :reactivate OR v.status = 'unavailable' THEN 'active' ELSE v.status END,
        unavailable_since = CASE WHEN :reactivate OR v.status = 'unavailable' THEN NULL
                                 ELSE v.unavailable_since END,
        consecutive_misses = 0,
        removed_at = CASE WHEN :reactivate THEN NULL ELSE v.removed_at END
"""


def apply_registrations(
    engine: Engine,
    requests: Sequence[RegistrationRequest],
    found: Sequence[VideoDetails],
    *,
    source: str,
    now: datetime,
    run_id: str | None = None,
) -> dict[str, int]:
    """Register the found videos (re-activating removed ones) and resolve every request:
    registered when YouTube returned the id, rejected with a reason otherwise."""
    found_ids = {d.video_id for d in found}
    resolutions = [
        {
            "id": r.request_id,
            "status": "registered" if r.video_id in found_ids else "rejected",
            "reason": None
            if r.video_id in found_ids
            else "YouTube did not return this video (private, deleted or never existed)",
        }
        for r in requests
    ]
    with engine.begin() as conn:
        if found:
            assert_source_allowed(conn, source)
            conn.execute(
                text(_UPSERT_VIDEOS),
                {"rows": _json(_details_rows(found, source)), "now": now, "reactivate": True},
            )
        if resolutions:
            conn.execute(
                text(
                    """
                    UPDATE ytmetrics.registration_requests AS q
                    SET status = r.status, reason = r.reason, resolved_at = :now, run_id = :run_id
                    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id bigint, status text, reason text)
                    WHERE q.request_id = r.id AND q.status = 'pending'
                    """
                ),
                {"rows": _json(resolutions), "now": now, "run_id": run_id},
            )
    registered = sum(1 for r in resolutions if r["status"] == "registered")
    return {"registered": registered, "rejected": len(resolutions) - registered}


def refresh_details(
    engine: Engine, details: Sequence[VideoDetails], *, source: str, now: datetime
) -> int:
    """Update titles/durations of tracked videos without changing their status."""
    if not details:
        return 0
    with engine.begin() as conn:
        assert_source_allowed(conn, source)
        conn.execute(
            text(_UPSERT_VIDEOS),
            {"rows": _json(_details_rows(details, source)), "now": now, "reactivate": False},
        )
    return len(details)


def video_ids_with_status(engine: Engine, status: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT video_id FROM ytmetrics.videos WHERE status = :status ORDER BY video_id"),
            {"status": status},
        )
        return [r.video_id for r in rows]


def active_video_ids(engine: Engine, published_before: datetime | None = None) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT video_id FROM ytmetrics.videos
                WHERE status = 'active'
                  AND (CAST(:before AS timestamptz) IS NULL OR published_at IS NULL
                       OR published_at <= CAST(:before AS timestamptz))
                ORDER BY video_id
                """
            ),
            {"before": published_before},
        )
        return [r.video_id for r in rows]


def status_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, count(*) AS n FROM ytmetrics.videos GROUP BY status")
        )
        counts = dict.fromkeys(VIDEO_STATUSES, 0)
        counts.update({r.status: r.n for r in rows})
        return counts


@dataclass(frozen=True)
class Removal:
    """``already_removed``: the video was removed before (and stays as it was, unless its
    metrics were deleted now); ``removed_at``: when it was removed."""

    already_removed: bool
    removed_at: datetime | None
    deleted: dict[str, int]


def remove_video(engine: Engine, video_id: str, *, delete_metrics: bool, now: datetime) -> Removal:
    """Stop tracking a video (history kept), or also delete its snapshots and growth rows,
    all in one transaction. Unknown id -> UnknownVideoError, nothing changed; an already
    removed video is left as it was (its metrics are deleted if asked)."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT status, removed_at FROM ytmetrics.videos WHERE video_id = :vid FOR UPDATE"
            ),
            {"vid": video_id},
        ).first()
        if row is None:
            raise UnknownVideoError(video_id)
        already = row.status == "removed"
        removed_at = row.removed_at if already else now
        if not already:
            conn.execute(
                text(
                    """
                    UPDATE ytmetrics.videos
                    SET status = 'removed', removed_at = :now, last_updated = :now
                    WHERE video_id = :vid
                    """
                ),
                {"vid": video_id, "now": now},
            )
        deleted = {"snapshots": 0, "growth_hourly": 0, "growth_daily": 0}
        if delete_metrics:
            key = {"vid": video_id}
            deleted["snapshots"] = conn.execute(
                text(
                    "DELETE FROM ytmetrics.metric_snapshots WHERE video_key ="
                    " (SELECT video_key FROM ytmetrics.videos WHERE video_id = :vid)"
                ),
                key,
            ).rowcount
            deleted["growth_hourly"] = conn.execute(
                text(
                    "DELETE FROM ytmetrics.video_growth_hourly WHERE video_key ="
                    " (SELECT video_key FROM ytmetrics.videos WHERE video_id = :vid)"
                ),
                key,
            ).rowcount
            deleted["growth_daily"] = conn.execute(
                text("DELETE FROM ytmetrics.video_growth_daily WHERE video_id = :vid"), key
            ).rowcount
            conn.execute(
                text(
                    "DELETE FROM ytmetrics.video_observation_state WHERE video_key ="
                    " (SELECT video_key FROM ytmetrics.videos WHERE video_id = :vid)"
                ),
                key,
            )
        return Removal(already, removed_at, deleted)


# The extra columns are what the paced selection ranks by (warehouse/pacing.py).
DUE_SQL = """
SELECT v.video_id, v.video_key, v.published_at, tier.every_hours,
       coalesce(known.last_hour, history.last_hour) AS last_hour
FROM ytmetrics.videos v
LEFT JOIN ytmetrics.video_observation_state st USING (video_key)
CROSS JOIN LATERAL (
    SELECT ytmetrics.cadence_interval(
        CAST(:tiers AS jsonb),
        extract(epoch FROM CAST(:hour AS timestamptz) - v.published_at) / 3600.0
    ) AS every_hours
) tier
LEFT JOIN LATERAL (
    SELECT CASE WHEN st.last_hour < :hour THEN st.last_hour
                WHEN st.prev_hour < :hour THEN st.prev_hour END AS last_hour
) known ON true
-- the history only for an hour older than both observations the state holds; a subquery
-- under CASE runs only when its branch is taken (a gated lateral join would still rescan
-- every day partition for every video)
CROSS JOIN LATERAL (
    SELECT CASE WHEN st.prev_hour >= :hour THEN (
        SELECT max(s.snapshot_hour) FROM ytmetrics.metric_snapshots s
        WHERE s.video_key = v.video_key AND s.snapshot_hour < :hour
    ) END AS last_hour
) history
WHERE v.status = 'active'
  AND (v.published_at IS NULL OR v.published_at <= :observe_at)
  AND (
      tier.every_hours = 1
      OR mod(CAST(floor(extract(epoch FROM CAST(:hour AS timestamptz)) / 3600) AS bigint)
             - :anchor, tier.every_hours) = 0
      OR coalesce(known.last_hour, history.last_hour) IS NULL
      OR coalesce(known.last_hour, history.last_hour)
         <= CAST(:hour AS timestamptz) - make_interval(hours => tier.every_hours)
  )
ORDER BY v.video_id
"""


def due_params(hour: datetime, observe_at: datetime, tiers: list[dict], anchor_hour: int) -> dict:
    return {"tiers": _json(tiers), "hour": hour, "observe_at": observe_at, "anchor": anchor_hour}


def due_video_ids(
    bind: Bind, hour: datetime, observe_at: datetime, tiers: list[dict], anchor_hour: int
) -> list[str]:
    """Active videos due for observation in ``hour`` under the age-tiered cadence (see
    ytmetrics_dagster.domain.cadence): their tier's interval divides the hour, or their last
    observation before the hour is at least one interval old, or they were never observed.

    The last observation comes from ``video_observation_state`` (kept by every snapshot
    write), so the cost does not grow with history; only for an hour older than a video's
    two newest observations (simulator backfills) is the history consulted."""
    with connected(bind) as conn:
        rows = conn.execute(text(DUE_SQL), due_params(hour, observe_at, tiers, anchor_hour))
        return [r.video_id for r in rows]


def active_by_interval(engine: Engine, tiers: list[dict], now: datetime) -> dict[int, int]:
    """How many active videos sit on each cadence interval now."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT ytmetrics.cadence_interval(
                           CAST(:tiers AS jsonb),
                           extract(epoch FROM CAST(:now AS timestamptz) - v.published_at) / 3600.0
                       ) AS every_hours,
                       count(*) AS n
                FROM ytmetrics.videos v
                WHERE v.status = 'active'
                GROUP BY 1
                """
            ),
            {"tiers": _json(tiers), "now": now},
        )
        return {r.every_hours: r.n for r in rows}
