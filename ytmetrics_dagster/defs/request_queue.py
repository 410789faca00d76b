"""The cursor every request-queue sensor keeps (registrations, collect-now requests): a run for
requests newer than the ones already handed to a run, and again for requests still pending
``STALE_REQUESTS`` after their run was launched (it failed or was cancelled). The run key makes
a re-evaluated tick launch nothing twice."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

STALE_REQUESTS = timedelta(minutes=15)


def queue_run_key(
    context: dg.SensorEvaluationContext, prefix: str, max_id: int, pending: int
) -> str | dg.SkipReason:
    """The run key for the pending requests up to ``max_id`` (the cursor moves on), or why no
    run is due now."""
    state = json.loads(context.cursor) if context.cursor else {"max_id": 0, "at": None}
    now = datetime.now(UTC)
    if max_id > state["max_id"]:
        run_key = f"{prefix}-through-{max_id}"
    elif state["at"] and now - datetime.fromisoformat(state["at"]) > STALE_REQUESTS:
        run_key = f"{prefix}-retry-{max_id}-{int(now.timestamp()) // 900}"
    else:
        return dg.SkipReason(f"{pending} request(s) pending; a run was launched at {state['at']}")
    context.update_cursor(
        json.dumps({"max_id": max(max_id, state["max_id"]), "at": now.isoformat()})
    )
    return run_key
