"""Causes reach the person who waits: in real-API mode (a key and the simulator's URL), a
registration that fails because the API cannot be reached, the key is invalid or the quota is
spent gets that cause as its verdict, whole, at once: `register --wait`, `requests` and the
MCP tool say it, instead of a timeout asking whether Dagster runs."""

import json
import socket
import threading
import time
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.registration.jobs import tracked_videos_run_config
from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.warehouse.quota import Budget, quota_day
from ytmetrics_dagster.warehouse.registrations import pending_summary, whole_words

from .helpers import normal_ids, spend_units
from .shape_check import check_shape
from .test_mcp import call_tools, payload

pytestmark = pytest.mark.db

TEST_KEY = "test-key-not-a-secret"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real_api(database_url, base_url: str, key: str = TEST_KEY) -> dict:
    return {
        "youtube": YouTubeResource(
            source="youtube", api_key=key, base_url=base_url, backoff_factor=0.01
        ),
        "warehouse": WarehouseResource(database_url=database_url),
    }


def apply_once_queued(engine, resources, results: list) -> threading.Thread:
    """What registration_requests_sensor does: a tracked_videos run (registrations only) once a
    request is pending; its result is appended to ``results``."""

    def apply():
        deadline = time.monotonic() + 30
        while pending_summary(engine)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        results.append(
            dg.materialize(
                [tracked_videos],
                resources=resources,
                run_config=tracked_videos_run_config(refresh_active=False),
                raise_on_error=False,
            )
        )

    thread = threading.Thread(target=apply)
    thread.start()
    return thread


def scenario(case: str, engine, database_url, simulator) -> tuple[dict, str]:
    """(resources, the cause the verdict must state) for one way the API fails."""
    if case == "unreachable":
        port = closed_port()
        return (
            real_api(database_url, f"http://127.0.0.1:{port}/youtube/v3"),
            f"YouTube API unreachable: connection refused by 127.0.0.1:{port} (videos, 3 attempts)",
        )
    if case == "key_invalid":
        return (
            real_api(database_url, simulator.base_url, key="INVALID-KEY"),
            "YouTube API key is invalid: check YOUTUBE_API_KEY.",
        )
    if case == "quota_spent_at_youtube":
        simulator.state.quota_limit = 0
        return (
            real_api(database_url, simulator.base_url),
            "YouTube API daily quota exceeded; it resets at midnight Pacific time.",
        )
    assert case == "budget_spent_here"
    now = datetime.now(UTC)
    spend_units(engine, Budget().collection_units, now)
    return (
        real_api(database_url, simulator.base_url),
        f"tracked_videos needs 1 quota units but only 0 are left today "
        f"({Budget().collection_units} of {Budget().daily_units} used on quota day "
        f"{quota_day(now)}",
    )


CASES = ["unreachable", "key_invalid", "quota_spent_at_youtube", "budget_spent_here"]


@pytest.mark.parametrize("case", CASES)
def test_register_wait_gets_the_cause_at_once(case, engine, database_url, simulator, capsys):
    vid = normal_ids(1)[0]
    resources, cause = scenario(case, engine, database_url, simulator)
    results: list = []
    applier = apply_once_queued(engine, resources, results)
    started = time.monotonic()
    code = main(["register", vid, "--wait", "--timeout", "120"])
    waited = time.monotonic() - started
    applier.join()
    # the run fails at once with the cause (no step retry would find anything left to do)
    (run,) = results
    assert not run.success
    failure = run.failure_data_for_node("tracked_videos").error.message
    assert f"1 registration request(s) failed: {cause}" in failure
    if case == "unreachable":  # the client's 3 attempts, each in the ledger, and no more
        with engine.connect() as conn:
            calls = conn.execute(text("SELECT count(*) FROM ytmetrics.api_calls")).scalar_one()
        assert calls == 3
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    # promptly: the verdict, not the 120 s timeout
    assert waited < 60, waited
    line = next(x for x in out.splitlines() if x.startswith("failed "))
    assert line.startswith(f"failed {vid} (request 1): {cause}"), line
    assert "is Dagster running" not in err
    assert TEST_KEY not in out + err

    capsys.readouterr()
    assert main(["requests", "--status", "failed", "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    check_shape(listing, models.RequestList)
    (row,) = listing["requests"]
    assert (row["video_id"], row["status"]) == (vid, "failed")
    assert row["reason"].startswith(cause)
    # whole: the stored reason is the full message, not a repr cut mid-word
    assert row["reason"] == line.split(": ", 1)[1]
    assert "Max retries" not in row["reason"] and "HTTPConnectionPool" not in row["reason"]
    # and the table shows it whole too
    assert main(["requests", "--status", "failed"]) == 0
    assert row["reason"] in capsys.readouterr().out


def test_a_failed_request_can_be_registered_again(engine, database_url, simulator, resources):
    vid = normal_ids(1)[0]
    bad, _ = scenario("key_invalid", engine, database_url, simulator)
    assert main(["register", vid]) == 0
    dg.materialize([tracked_videos], resources=bad, raise_on_error=False)
    assert main(["register", vid]) == 0  # a new request: the failed one said nothing of the video
    assert dg.materialize([tracked_videos], resources=resources).success
    assert main(["register", vid, "--wait", "--timeout", "5"]) == 0  # already tracked


@pytest.mark.system
def test_the_mcp_tool_returns_the_cause(engine, database_url, simulator):
    vid = normal_ids(1)[0]
    resources, cause = scenario("key_invalid", engine, database_url, simulator)
    applier = apply_once_queued(engine, resources, [])
    _, (result,) = call_tools(
        database_url, [("register_video_for_tracking", {"video": vid, "wait_seconds": 60})]
    )
    applier.join()
    verdict = payload(result)
    check_shape(verdict, models.Registration)
    assert (verdict["outcome"], verdict["status"]) == ("queued", "failed")
    assert verdict["reason"].startswith(cause)
    _, (listed,) = call_tools(database_url, [("list_registration_requests", {"status": "failed"})])
    assert payload(listed)["requests"][0]["reason"] == verdict["reason"]


@pytest.mark.unit
def test_a_long_reason_is_cut_between_words_only():
    assert whole_words("a  b\nc") == "a b c"
    text = " ".join(["word"] * 1000)
    cut = whole_words(text, 100)
    assert len(cut) <= 100 and cut.endswith("word…")
    assert whole_words("x" * 150, 100) == "x" * 99 + "…"  # no space at all: cut where it must
