"""`ytmetrics demo-history`: ask the running Dagster to backfill the last N closed hours of
``hourly_snapshot_job`` (assets ``video_metric_snapshots`` + ``video_growth_hourly``), so the
demo shows history at once.

The backfill is launched through the Dagster webserver's GraphQL API, the same mutation the
UI's "Materialize" → backfill dialog sends (``launchPartitionBackfill``); the daemon's backfill
daemon picks it up and, as both assets have ``BackfillPolicy.single_run()``, runs the whole
range as one run. Only the simulator can answer for a closed hour: against the real YouTube
API this refuses before anything is launched (and the snapshot asset itself would fail every
closed hour without spending quota).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

JOB = "hourly_snapshot_job"
ASSETS = ("video_metric_snapshots", "video_growth_hourly")
DEFAULT_URL = "http://127.0.0.1:3000"


def default_url() -> str:
    """The UI of the running `make run` (recorded by `ytmetrics dev` with its PORT), or
    DEFAULT_URL."""
    from ytmetrics_dagster.data_dir import recorded_dev_ui_url

    return recorded_dev_ui_url() or DEFAULT_URL


TAG = "ytmetrics/demo_history_hours"
# The daemon heartbeats every 30 s; older than this, nothing is there to run the backfill.
DAEMON_STALE_SECONDS = 120


class DagsterNotRunning(RuntimeError):
    """No webserver answers at the URL, or no daemon would pick the backfill up."""


class BackfillRefused(ValueError):
    """The backfill cannot be run (the real API, or hours before the first partition)."""


@dataclass(frozen=True)
class LaunchedBackfill:
    backfill_id: str
    partitions: list[str]
    ui_url: str


def refuse_real_api(uses_simulator: bool) -> None:
    if not uses_simulator:
        raise BackfillRefused(
            "demo-history needs the YouTube simulator (YTMETRICS_SOURCE=simulator): the real "
            "YouTube Data API reports only current statistics, so hours that have closed "
            "cannot be observed any more, and this project never fabricates them"
        )


def closed_hours(hours: int, now: datetime) -> list[str]:
    """Partition keys of the ``hours`` closed UTC hours before the hour in progress."""
    from ytmetrics_dagster.defs.partitions import hourly_partitions

    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    starts = [current - timedelta(hours=n) for n in range(hours, 0, -1)]
    keys = [
        hourly_partitions.get_partition_key_for_timestamp(start.timestamp())
        for start in starts
        if start >= hourly_partitions.start
    ]
    if not keys:
        raise BackfillRefused("no hourly partition in that range (see YTMETRICS_PARTITIONS_START)")
    return keys


def _graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    import requests  # here, not at the top: the CLI's parser reads this module's constants

    endpoint = url.rstrip("/") + "/graphql"
    try:
        response = requests.post(
            endpoint, json={"query": query, "variables": variables or {}}, timeout=timeout
        )
    except requests.RequestException as err:
        raise DagsterNotRunning(
            f"Dagster is not running at {url} ({type(err).__name__}): start it with `make run` "
            "(or pass --dagster-url with the address of its UI)"
        ) from None
    if response.status_code != 200:
        raise DagsterNotRunning(
            f"{endpoint} answered HTTP {response.status_code}: is this a Dagster webserver?"
        )
    try:
        body = response.json()
    except ValueError:
        raise DagsterNotRunning(f"{endpoint} did not answer GraphQL: is this Dagster?") from None
    if body.get("errors"):
        raise RuntimeError(f"Dagster GraphQL error: {body['errors'][0].get('message')}")
    return body["data"]


_DAEMON = """
query BackfillDaemon {
  instance { daemonHealth { daemonStatus(daemonType: "BACKFILL") {
    required healthy lastHeartbeatTime
  } } }
}
"""

_LAUNCH = """
mutation LaunchDemoHistory($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""

_STATUS = """
query DemoHistoryBackfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on Error { message }
  }
}
"""


def check_daemon(url: str, now: float | None = None) -> None:
    status = _graphql(url, _DAEMON)["instance"]["daemonHealth"]["daemonStatus"]
    beat = status.get("lastHeartbeatTime")
    age = (now or time.time()) - beat if beat else None
    if age is None or age > DAEMON_STALE_SECONDS:
        since = "never" if age is None else f"{age:.0f} s ago"
        raise DagsterNotRunning(
            f"the Dagster webserver at {url} answers, but its daemon is not running (last "
            f"backfill-daemon heartbeat: {since}), so nothing would run the backfill: start "
            "Dagster with `make run` (webserver and daemon)"
        )


def launch(url: str, hours: int, now: datetime | None = None) -> LaunchedBackfill:
    """Launch the backfill on the running Dagster at ``url``; the daemon runs it."""
    partitions = closed_hours(hours, now or datetime.now(UTC))
    check_daemon(url)
    params = {
        "assetSelection": [{"path": [key]} for key in ASSETS],
        "partitionNames": partitions,
        "title": f"demo history: the last {len(partitions)} hours",
        "description": f"ytmetrics demo-history: {JOB} over {partitions[0]} .. {partitions[-1]}",
        "tags": [{"key": TAG, "value": str(len(partitions))}],
    }
    result = _graphql(url, _LAUNCH, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(
            f"Dagster refused the backfill ({result['__typename']}): {result.get('message')}"
        )
    backfill_id = result["backfillId"]
    return LaunchedBackfill(backfill_id, partitions, f"{url.rstrip('/')}/runs/b/{backfill_id}")


def backfill_status(url: str, backfill_id: str) -> str:
    """REQUESTED, COMPLETED_SUCCESS, FAILED, … as Dagster reports it."""
    result = _graphql(url, _STATUS, {"id": backfill_id})["partitionBackfillOrError"]
    if result["__typename"] != "PartitionBackfill":
        raise RuntimeError(f"no backfill {backfill_id}: {result.get('message')}")
    return result["status"]
