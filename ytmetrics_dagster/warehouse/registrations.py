"""The registration queue (``registration_requests``): what users asked to track, and the
verdict on each request once ``tracked_videos`` asked YouTube (registered, or rejected with
the reason), or could not ask it (failed, with the cause: the API unreachable, the key
invalid, the quota spent)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import locks
from ytmetrics_dagster.warehouse.locks import xact_lock
from ytmetrics_dagster.warehouse.read_limits import MAX_REQUESTS_LIMIT
from ytmetrics_dagster.warehouse.read_limits import REQUEST_STATUSES as REQUEST_STATUSES

if TYPE_CHECKING:
    from ytmetrics_dagster.warehouse.frames import Rows

# a verdict's reason is stored whole up to this length, and beyond it cut between words
MAX_REASON = 2000
MAX_LIST_LIMIT = MAX_REQUESTS_LIMIT

# What asking to register one input did.
QUEUED = "queued"  # a new pending request
ALREADY_PENDING = "already_pending"  # an earlier request for this video is still pending
ALREADY_TRACKED = "already_tracked"  # the video is tracked (active): nothing to do
DUPLICATE = "duplicate"  # the same video was named earlier in the same call


@dataclass(frozen=True)
class RegistrationRequest:
    request_id: int
    requested_input: str
    video_id: str


@dataclass(frozen=True)
class Registration:
    """The outcome of one input: ``status`` is the request's (pending, registered, rejected);
    an already tracked video counts as registered and has no request."""

    input: str
    video_id: str
    outcome: str
    request_id: int | None
    status: str
    reason: str | None = None


def _json(rows: list[dict]) -> str:
    return json.dumps(rows)


_INSERT = """
    INSERT INTO ytmetrics.registration_requests (requested_input, video_id, requested_by)
    SELECT r.raw, r.vid, r.by
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(n integer, raw text, vid text, by text)
    ORDER BY r.n
    RETURNING request_id
"""


def _insert(conn, requests: Sequence[tuple[str, str]], requested_by: str) -> list[int]:
    if not requests:
        return []
    rows = [
        {"n": n, "raw": raw, "vid": vid, "by": requested_by}
        for n, (raw, vid) in enumerate(requests)
    ]
    result = conn.execute(text(_INSERT), {"rows": _json(rows)})
    return sorted(row.request_id for row in result)


def queue_registrations(
    engine: Engine, requests: Sequence[tuple[str, str]], requested_by: str = "cli"
) -> list[int]:
    """Queue (raw input, parsed video id) pairs as pending requests, in one transaction, as
    given (no check against what is tracked or pending: see ``request_registrations``)."""
    with engine.begin() as conn:
        return _insert(conn, requests, requested_by)


def request_registrations(
    engine: Engine, parsed: Sequence[tuple[str, str]], requested_by: str
) -> list[Registration]:
    """What a user asks for: queue each parsed (input, video id) unless the video is already
    tracked, already pending, or named earlier in the same call; those are reported, not
    queued again. Concurrent callers are serialised, so two of them cannot queue one video
    twice."""
    ids = sorted({vid for _, vid in parsed})
    with engine.begin() as conn:
        xact_lock(conn, locks.REGISTRATIONS)
        tracked = {
            r.video_id
            for r in conn.execute(
                text(
                    "SELECT video_id FROM ytmetrics.videos "
                    "WHERE video_id = ANY(:ids) AND status = 'active'"
                ),
                {"ids": ids},
            )
        }
        pending = {
            r.video_id: r.request_id
            for r in conn.execute(
                text(
                    "SELECT video_id, min(request_id) AS request_id "
                    "FROM ytmetrics.registration_requests "
                    "WHERE video_id = ANY(:ids) AND status = 'pending' GROUP BY video_id"
                ),
                {"ids": ids},
            )
        }
        outcomes: list[Registration] = []
        first: dict[str, int] = {}
        to_queue: list[int] = []
        for raw, vid in parsed:
            shown = raw.strip()
            if vid in first:
                outcomes.append(Registration(shown, vid, DUPLICATE, None, "pending"))
            elif vid in tracked:
                outcomes.append(Registration(shown, vid, ALREADY_TRACKED, None, "registered"))
            elif vid in pending:
                outcomes.append(Registration(shown, vid, ALREADY_PENDING, pending[vid], "pending"))
            else:
                to_queue.append(len(outcomes))
                outcomes.append(Registration(shown, vid, QUEUED, None, "pending"))
            first.setdefault(vid, len(outcomes) - 1)
        new_ids = _insert(
            conn, [(outcomes[i].input, outcomes[i].video_id) for i in to_queue], requested_by
        )
    for index, request_id in zip(to_queue, new_ids, strict=True):
        outcomes[index] = replace(outcomes[index], request_id=request_id)
    # a duplicate shares the fate of the first mention of its video
    return [
        replace(
            o,
            request_id=outcomes[first[o.video_id]].request_id,
            status=outcomes[first[o.video_id]].status,
        )
        if o.outcome == DUPLICATE
        else o
        for o in outcomes
    ]


def whole_words(text: str, limit: int = MAX_REASON) -> str:
    """``text`` on one line, whole when it fits in ``limit`` characters, else cut at the last
    space before the limit (never inside a word) and marked with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut + "…"


def fail_registrations(
    engine: Engine,
    request_ids: Sequence[int],
    reason: str,
    now: datetime,
    run_id: str | None = None,
) -> int:
    """Resolve the still pending ``request_ids`` as failed with ``reason`` (YouTube could not
    be asked); how many were resolved. A request resolved meanwhile is left as it is."""
    if not request_ids:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            text(
                """
                UPDATE ytmetrics.registration_requests
                SET status = 'failed', reason = :reason, resolved_at = :now, run_id = :run_id
                WHERE request_id = ANY(:ids) AND status = 'pending'
                """
            ),
            {"ids": list(request_ids), "reason": whole_words(reason), "now": now, "run_id": run_id},
        )
        return result.rowcount


def request_verdicts(
    engine: Engine, request_ids: Sequence[int]
) -> dict[int, tuple[str, str | None]]:
    """(status, reason) of each request."""
    if not request_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT request_id, status, reason FROM ytmetrics.registration_requests "
                "WHERE request_id = ANY(:ids)"
            ),
            {"ids": list(request_ids)},
        )
        return {r.request_id: (r.status, r.reason) for r in rows}


def await_verdicts(
    engine: Engine,
    outcomes: Sequence[Registration],
    timeout: float,
    on_verdict: Callable[[Registration], None] | None = None,
    poll_seconds: float = 0.25,
) -> list[Registration]:
    """Wait up to ``timeout`` seconds for the verdict on every pending request (the sensor's
    ``tracked_videos`` run gives it), calling ``on_verdict`` as each arrives; the outcomes
    with their final status and reason (still ``pending`` if none came). The first reads
    follow each other closely (50 ms, doubling up to ``poll_seconds``): a verdict that is
    already there or comes at once is reported at once, a slow one costs four cheap reads a
    second (one indexed SELECT each)."""
    results = list(outcomes)
    deadline = time.monotonic() + timeout
    pause = min(0.05, poll_seconds)
    while True:
        waiting = {r.request_id for r in results if r.status == "pending" and r.request_id}
        if not waiting:
            return results
        verdicts = request_verdicts(engine, sorted(waiting))
        for index, r in enumerate(results):
            status, reason = verdicts.get(r.request_id, ("pending", None))
            if r.request_id in waiting and status != "pending":
                results[index] = replace(r, status=status, reason=reason)
                if on_verdict is not None and r.outcome != DUPLICATE:
                    on_verdict(results[index])
        left = deadline - time.monotonic()
        if left <= 0:
            return results
        if any(r.status == "pending" and r.request_id for r in results):
            time.sleep(min(pause, left))
            pause = min(pause * 2, poll_seconds)


def request_rows(
    engine: Engine,
    *,
    status: str = "all",
    video_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Rows, int]:
    """Registration requests, newest first, with the reason of each rejection, and the total
    matching the filter (for paging)."""
    from ytmetrics_dagster.warehouse.frames import Rows

    params = {"status": None if status == "all" else status, "vid": video_id}
    with engine.connect() as conn:
        rows = Rows.of(
            conn.execute(
                text(
                    """
                SELECT request_id, requested_input, video_id, status, reason, requested_by,
                       requested_at, resolved_at
                FROM ytmetrics.registration_requests
                WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))
                  AND (CAST(:vid AS text) IS NULL OR video_id = CAST(:vid AS text))
                ORDER BY request_id DESC LIMIT :limit OFFSET :offset
                """
                ),
                {**params, "limit": limit, "offset": offset},
            )
        )
        total = conn.execute(
            text(
                """
                SELECT count(*) FROM ytmetrics.registration_requests
                WHERE (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))
                  AND (CAST(:vid AS text) IS NULL OR video_id = CAST(:vid AS text))
                """
            ),
            params,
        ).scalar_one()
    return rows, int(total)


def pending_registrations(engine: Engine, limit: int = 5000) -> list[RegistrationRequest]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT request_id, requested_input, video_id
                FROM ytmetrics.registration_requests
                WHERE status = 'pending'
                ORDER BY request_id
                LIMIT :limit
                """
            ),
            {"limit": limit},
        )
        return [RegistrationRequest(r.request_id, r.requested_input, r.video_id) for r in rows]


def pending_summary(engine: Engine) -> tuple[int, int | None]:
    """(number of pending requests, highest pending request id)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) AS n, max(request_id) AS max_id "
                "FROM ytmetrics.registration_requests WHERE status = 'pending'"
            )
        ).one()
        return row.n, row.max_id
