"""The collect-now queue (``collection_requests``): a tracked video to be observed into the
hour in progress. Only Dagster observes: ``collection_requests_sensor`` hands pending requests
to ``video_metric_snapshots`` (the same pool, quota ledger and snapshot write as every hour),
which records the verdict on each."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.warehouse.binds import Bind, connected
from ytmetrics_dagster.warehouse.locks import xact_lock
from ytmetrics_dagster.warehouse.read_limits import MAX_COLLECTIONS_LIMIT
from ytmetrics_dagster.warehouse.videos import DUE_SQL, UnknownVideoError, due_params

MAX_LIST_LIMIT = MAX_COLLECTIONS_LIMIT
COLLECTION_STATUSES = ("pending", "collected", "failed")
# A reason is kept whole up to this length (a Dagster failure can be long, but never a novel).
MAX_REASON = 2000

_SELECT = (
    "SELECT request_id, video_id, status, reason, requested_by, requested_at, snapshot_hour, "
    "resolved_at FROM ytmetrics.collection_requests "
)


class VideoNotActiveError(ValueError):
    """Only an active video is observed; nothing was queued."""


def request_collection(engine: Engine, video_id: str, *, requested_by: str) -> dict:
    """Queue the video for observation now, or the request already pending for it."""
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT status FROM ytmetrics.videos WHERE video_id = :vid FOR SHARE"),
            {"vid": video_id},
        ).first()
        if row is None:
            raise UnknownVideoError(video_id)
        if row.status != "active":
            raise VideoNotActiveError(
                f"video {video_id!r} is {row.status}: only active videos are observed "
                f"(register it again with `ytmetrics register {video_id}`)"
            )
        # two callers asking at once queue one request (the registration lock's second key)
        xact_lock(conn, locks.REGISTRATIONS, 1)
        existing = conn.execute(
            text(
                _SELECT + "WHERE video_id = :vid AND status = 'pending' ORDER BY request_id LIMIT 1"
            ),
            {"vid": video_id},
        ).first()
        if existing is not None:
            return dict(existing._mapping)
        return dict(
            conn.execute(
                text(
                    "INSERT INTO ytmetrics.collection_requests (video_id, requested_by) "
                    "VALUES (:vid, :by) RETURNING request_id, video_id, status, reason, "
                    "requested_by, requested_at, snapshot_hour, resolved_at"
                ),
                {"vid": video_id, "by": requested_by},
            )
            .one()
            ._mapping
        )


def get_request(engine: Engine, request_id: int) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(
            text(_SELECT + "WHERE request_id = :id"),
            {"id": request_id},
        ).first()
    return dict(row._mapping) if row else None


def await_request(engine: Engine, request_id: int, timeout: float, poll: float = 1.0) -> dict:
    """The request once it has a verdict, or as it stands after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        row = get_request(engine, request_id)
        left = deadline - time.monotonic()
        if row is None or row["status"] != "pending" or left <= 0:
            return row
        time.sleep(min(poll, left))


def list_requests(
    engine: Engine, *, status: str = "all", limit: int = 50, offset: int = 0
) -> tuple[pd.DataFrame, int]:
    params = {"status": None if status == "all" else status, "limit": limit, "offset": offset}
    where = "WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))"  # fixed
    with engine.connect() as conn:
        frame = pd.read_sql_query(
            text(_SELECT + where + " ORDER BY request_id DESC LIMIT :limit OFFSET :offset"),
            conn,
            params=params,
        )
        total = conn.execute(
            text(
                "SELECT count(*) FROM ytmetrics.collection_requests "
                "WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))"
            ),
            params,
        ).scalar_one()
    return frame, int(total)


def pending_summary(engine: Engine) -> tuple[list[int], int | None]:
    """(ids of pending requests, oldest first, at most 500; the highest pending id)."""
    with engine.connect() as conn:
        ids = list(
            conn.execute(
                text(
                    "SELECT request_id FROM ytmetrics.collection_requests "
                    "WHERE status = 'pending' ORDER BY request_id LIMIT 500"
                )
            ).scalars()
        )
    return ids, (max(ids) if ids else None)


def videos_to_collect(bind: Bind, request_ids: Sequence[int], hour: datetime) -> list[str]:
    """The active videos of these pending requests that ``hour`` does not hold yet (a video
    already observed this hour costs no second call)."""
    with connected(bind) as conn:
        return list(
            conn.execute(
                text(
                    """
                    SELECT DISTINCT v.video_id
                    FROM ytmetrics.collection_requests q
                    JOIN ytmetrics.videos v USING (video_id)
                    WHERE q.request_id = ANY(:ids) AND q.status = 'pending'
                      AND v.status = 'active'
                      AND NOT EXISTS (SELECT 1 FROM ytmetrics.metric_snapshots s
                                      WHERE s.video_key = v.video_key
                                        AND s.snapshot_hour = :hour)
                    ORDER BY v.video_id
                    """
                ),
                {"ids": list(request_ids), "hour": hour},
            ).scalars()
        )


def resolve(
    engine: Engine, request_ids: Sequence[int], hour: datetime, *, run_id: str, now: datetime
) -> dict[str, int]:
    """Each pending request: collected if ``hour`` holds an observation of its video, else
    failed with the reason (YouTube did not return it, or it is no longer active)."""
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                """
                UPDATE ytmetrics.collection_requests AS q
                SET status = CASE WHEN obs.found THEN 'collected' ELSE 'failed' END,
                    reason = CASE
                        WHEN obs.found THEN NULL
                        WHEN v.status IS DISTINCT FROM 'active'
                            THEN 'the video is no longer active (' || coalesce(v.status, 'unknown') || ')'
                        ELSE 'YouTube did not return this video (private, deleted or never existed)'
                    END,
                    snapshot_hour = CASE WHEN obs.found THEN CAST(:hour AS timestamptz) END,
                    resolved_at = :now, run_id = :run_id
                FROM ytmetrics.collection_requests q2
                LEFT JOIN ytmetrics.videos v ON v.video_id = q2.video_id
                CROSS JOIN LATERAL (
                    SELECT EXISTS (SELECT 1 FROM ytmetrics.metric_snapshots s
                                   WHERE s.video_key = v.video_key
                                     AND s.snapshot_hour = CAST(:hour AS timestamptz)) AS found
                ) obs
                WHERE q.request_id = q2.request_id AND q.request_id = ANY(:ids)
                  AND q.status = 'pending'
                RETURNING q.status
                """
            ),
            {"ids": list(request_ids), "hour": hour, "now": now, "run_id": run_id},
        ).scalars()
        statuses = list(rows)
    return {s: statuses.count(s) for s in COLLECTION_STATUSES if s != "pending"}


def fail(
    engine: Engine, request_ids: Sequence[int], reason: str, *, run_id: str, now: datetime
) -> int:
    """The run could not observe: every pending request of it failed, with the whole reason."""
    with engine.begin() as conn:
        return conn.execute(
            text(
                "UPDATE ytmetrics.collection_requests SET status = 'failed', reason = :reason, "
                "resolved_at = :now, run_id = :run_id "
                "WHERE request_id = ANY(:ids) AND status = 'pending'"
            ),
            {"ids": list(request_ids), "reason": reason[:MAX_REASON], "now": now, "run_id": run_id},
        ).rowcount


_COLLECTED_SQL = """
SELECT DISTINCT q.video_id
FROM ytmetrics.collection_requests q
JOIN ytmetrics.videos v USING (video_id)
WHERE q.status = 'collected' AND q.snapshot_hour = :hour
  AND v.status = 'active'
"""


# who a run replacing the hour observes: due, or collected into it on request
_DUE_OR_COLLECTED_SQL = f"SELECT video_id FROM ({DUE_SQL}) AS due UNION {_COLLECTED_SQL}"  # noqa: S608 - constants only


def collected_videos(bind: Bind, hour: datetime) -> list[str]:
    """Active videos someone had observed into ``hour`` on request: a run that replaces the
    hour observes them again, so what was asked for is not lost."""
    with connected(bind) as conn:
        return list(
            conn.execute(text(_COLLECTED_SQL + "ORDER BY q.video_id"), {"hour": hour}).scalars()
        )


def due_or_collected(
    bind: Bind, hour: datetime, observe_at: datetime, tiers: list[dict], anchor_hour: int
) -> list[str]:
    """What a run replacing ``hour`` observes, in one query: the videos due
    (``videos.due_video_ids``) and those collected into it on request (``collected_videos``),
    sorted."""
    with connected(bind) as conn:
        rows = conn.execute(
            text(_DUE_OR_COLLECTED_SQL),
            due_params(hour, observe_at, tiers, anchor_hour),
        ).scalars()
        # sorted here as the two lists were merged (Python's order, not the collation's)
        return sorted(set(rows))


# The same for many hours in one statement: the hour and the observation time are columns of
# the hours' list instead of parameters.
def _per_hour(sql: str) -> str:
    """``sql`` with its :hour and :observe_at parameters (whole names only) read from the plan's
    columns; no other parameter may be left that the plan would have to give per hour."""
    columns = {"hour": "plan.hour", "observe_at": "plan.observe_at"}
    rewritten = re.sub(r"(?<![:\w]):(hour|observe_at)\b", lambda m: columns[m.group(1)], sql)
    left = set(re.findall(r"(?<![:\w]):(\w+)", rewritten))
    assert left <= {"tiers", "anchor"}, f"parameters the plan does not give: {left}"
    return rewritten


_DUE_OR_COLLECTED_PER_HOUR_SQL = (
    """
SELECT plan.ord, x.video_id
FROM unnest(CAST(:plan_hours AS timestamptz[]), CAST(:plan_observe_ats AS timestamptz[]))
     WITH ORDINALITY AS plan(hour, observe_at, ord)
CROSS JOIN LATERAL ("""
    + _per_hour(_DUE_OR_COLLECTED_SQL)
    + ") AS x"
)


def due_or_collected_by_hour(
    bind: Bind,
    hours: Sequence[tuple[datetime, datetime]],
    tiers: list[dict],
    anchor_hour: int,
) -> list[list[str]]:
    """``due_or_collected`` of each (hour, observe_at), in one round trip (a backfill's plan
    of hundreds of hours)."""
    if not hours:
        return []
    params = due_params(hours[0][0], hours[0][1], tiers, anchor_hour)
    with connected(bind) as conn:
        rows = conn.execute(
            text(_DUE_OR_COLLECTED_PER_HOUR_SQL),
            {
                "tiers": params["tiers"],
                "anchor": params["anchor"],
                "plan_hours": [h for h, _ in hours],
                "plan_observe_ats": [at for _, at in hours],
            },
        )
        found: list[set[str]] = [set() for _ in hours]
        for row in rows:
            found[row.ord - 1].add(row.video_id)
    return [sorted(ids) for ids in found]
