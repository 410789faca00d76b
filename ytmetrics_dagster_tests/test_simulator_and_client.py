"""The HTTP client against the simulator served on 127.0.0.1."""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import dagster as dg
import pandas as pd
import pytest
import requests
from sqlalchemy import text

from ytmetrics_dagster.defs.resources import YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.youtube.client import YouTubeClient
from ytmetrics_dagster.youtube.errors import (
    AccessDeniedError,
    BadRequestError,
    KeyInvalidError,
    QuotaExceededError,
    YouTubeUnavailableError,
)

from .helpers import (
    CATALOG,
    comments_off_id,
    current_hour,
    hidden_likes_id,
    nonexistent_id,
    normal_ids,
    register,
    wait_until,
)

pytestmark = pytest.mark.db

HOSTILE_KEY = "AIzaSy-Hostile-Echo-0123456789abcdefgh"


def client(sim, **kwargs) -> YouTubeClient:
    kwargs.setdefault("backoff_factor", 0.01)
    return YouTubeClient(sim.base_url, kwargs.pop("api_key", None), **kwargs)


def test_batches_fifty_ids_per_call_and_reports_missing(simulator):
    ids = normal_ids(120)
    ghost = nonexistent_id()
    with client(simulator) as c:
        result = c.video_statistics([*ids, ghost])
    assert result.api_calls == 3  # ceil(121 / 50)
    assert simulator.state.requests_by_method["videos"] == 3
    assert [s.video_id for s in result.items] == ids
    assert result.missing == [ghost]
    assert result.source == "simulator"


def test_hidden_likes_and_disabled_comments_are_none(simulator):
    hidden, off = hidden_likes_id(), comments_off_id()
    with client(simulator) as c:
        stats = {s.video_id: s for s in c.video_statistics([hidden, off]).items}
    assert stats[hidden].like_count is None and stats[hidden].comment_count is not None
    assert stats[off].comment_count is None and stats[off].like_count is not None


def test_as_of_answers_the_past_deterministically(simulator):
    vid = normal_ids(1)[0]
    at = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    with client(simulator) as c:
        stats = c.video_statistics([vid], as_of=at).items[0]
    assert stats == CATALOG.profile(vid).statistics_at(at)


@pytest.mark.unit
def test_simulated_counters_never_decrease():
    for vid in normal_ids(20):
        profile = CATALOG.profile(vid)
        previous = -1
        for hours in range(0, 24 * 20, 1):
            views = profile.statistics_at(
                profile.published_at + timedelta(hours=hours, minutes=1)
            ).view_count
            assert views >= previous
            previous = views


def test_transient_errors_are_retried(simulator):
    simulator.state.script("videos", ["500", "502", "drop", "503", "429"])
    with client(simulator, max_retries=6) as c:
        result = c.video_statistics(normal_ids(2))
    assert len(result.items) == 2


def test_retries_are_bounded(simulator):
    simulator.state.script("videos", ["503"] * 10)
    with client(simulator, max_retries=2) as c, pytest.raises(YouTubeUnavailableError):
        c.video_statistics(normal_ids(1))


def test_malformed_json_is_a_clear_error(simulator):
    simulator.state.script("videos", ["truncated"])
    with client(simulator) as c, pytest.raises(YouTubeUnavailableError, match="unreadable body"):
        c.video_statistics(normal_ids(1))


def test_quota_exceeded_is_not_retried(simulator):
    simulator.state.quota_limit = 0
    with client(simulator) as c, pytest.raises(QuotaExceededError, match="Pacific"):
        c.video_statistics(normal_ids(1))
    assert simulator.state.requests_by_method["videos"] == 1


def test_key_errors_fail_fast_and_never_show_the_key(simulator):
    with client(simulator, api_key="INVALID-KEY") as c, pytest.raises(KeyInvalidError) as info:
        c.video_statistics(normal_ids(1))
    assert "INVALID-KEY" not in str(info.value)
    simulator.state.script("videos", ["accessNotConfigured"])
    with client(simulator, api_key="secret-key-123") as c, pytest.raises(AccessDeniedError) as info:
        c.video_statistics(normal_ids(1))
    assert "secret-key-123" not in str(info.value)


def test_key_travels_in_a_header_never_in_the_url(simulator):
    seen = []
    with client(simulator, api_key="secret-key-123") as c:
        c._session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request))
        c.video_statistics(normal_ids(1))
    assert seen and all("secret-key-123" not in r.url for r in seen)
    assert seen[0].headers["X-Goog-Api-Key"] == "secret-key-123"


def test_simulator_speaks_the_api_error_shape(simulator):
    response = requests.get(
        simulator.base_url + "/videos", params={"part": "bogus", "id": "x"}, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": 400,
        "message": "'bogus'",
        "errors": [
            {
                "message": "'bogus'",
                "domain": "youtube.part",
                "reason": "unknownPart",
                "location": "part",
                "locationType": "parameter",
            }
        ],
    }
    assert response.headers["X-YTMetrics-Simulator"] == "1"


def test_an_invalid_key_gets_todays_answer_and_fails_fast(simulator):
    response = requests.get(
        simulator.base_url + "/videos",
        params={"part": "id", "id": "x"},
        headers={"X-Goog-Api-Key": "INVALID-KEY"},
        timeout=5,
    )
    error = response.json()["error"]
    assert (response.status_code, error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["errors"][0]["reason"] == "badRequest"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    with client(simulator, api_key="INVALID-KEY") as c, pytest.raises(KeyInvalidError) as info:
        c.video_statistics(normal_ids(1))
    assert "YOUTUBE_API_KEY" in str(info.value)
    assert info.value.reason == "API_KEY_INVALID"
    assert [call.reason for call in c.call_log] == ["API_KEY_INVALID"]


def spellings(key: str) -> list[str]:
    encoded = quote(key, safe="")
    every_byte = "".join(f"%{b:02x}" for b in key.encode())
    return [key, key.upper(), key.lower(), encoded, every_byte, every_byte.upper()]


def assert_no_key(dump: str, key: str = HOSTILE_KEY) -> None:
    lowered = dump.lower()
    for spelling in spellings(key):
        assert spelling.lower() not in lowered, spelling


def test_the_hostile_faults_really_echo_the_key(simulator):
    for fault in ("echoKey", "echoKeyHtml"):
        simulator.state.script("videos", [fault])
        response = requests.get(
            simulator.base_url + "/videos",
            params={"part": "id", "id": "x"},
            headers={"X-Goog-Api-Key": HOSTILE_KEY},
            timeout=5,
        )
        for spelling in spellings(HOSTILE_KEY)[:4]:
            assert spelling in response.text


def test_a_hostile_endpoint_cannot_get_the_key_into_errors_or_the_call_log(simulator):
    for fault in ("echoKey", "echoKeyHtml"):
        simulator.state.script("videos", [fault])
        with client(simulator, api_key=HOSTILE_KEY) as c, pytest.raises(BadRequestError) as info:
            c.video_statistics(normal_ids(1))
        assert "[REDACTED]" in str(info.value)
        assert_no_key(str(info.value) + repr(info.value.reason) + repr(c.call_log))


def test_a_hostile_endpoint_cannot_get_the_key_into_the_event_log_logs_or_ledger(
    engine, resources, simulator, caplog
):
    register(engine, resources, normal_ids(3))
    keyed = dict(
        resources,
        youtube=YouTubeResource(
            source="youtube", api_key=HOSTILE_KEY, base_url=simulator.base_url, backoff_factor=0.01
        ),
    )
    partition = current_hour().strftime("%Y-%m-%d-%H:%M")
    caplog.set_level(logging.DEBUG)
    with dg.instance_for_test() as instance:
        for fault in ("echoKey", "echoKeyHtml"):
            simulator.state.script("videos", [fault])
            result = dg.materialize(
                [video_metric_snapshots],
                partition_key=partition,
                resources=keyed,
                instance=instance,
                raise_on_error=False,
            )
            assert not result.success
        events = "\n".join(
            str(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id)
        )
    with engine.connect() as conn:
        ledger = pd.read_sql_query(text("SELECT * FROM ytmetrics.api_calls"), conn)
    assert "[REDACTED]" in events  # the echoed errors did reach the event log, scrubbed
    assert set(ledger.http_status.dropna()) >= {400}
    assert_no_key(events)
    assert_no_key(caplog.text)
    assert_no_key(ledger.to_csv())


def test_the_first_failure_cancels_batches_not_yet_sent(simulator):
    simulator.state.latency_seconds = 0.05
    simulator.state.script("videos", ["quotaExceeded"])
    with client(simulator, max_workers=2) as c, pytest.raises(QuotaExceededError):
        c.video_statistics(normal_ids(1000))  # 20 batches
    # at most what the two workers had in flight or picked up before the cancellation
    assert simulator.state.requests_by_method["videos"] <= 2 * 2
    assert sum(call.units for call in c.call_log) == simulator.state.requests_by_method["videos"]


def test_a_hostile_endpoint_cannot_get_the_key_into_cli_output(
    engine, simulator, monkeypatch, capsys
):
    from ytmetrics_dagster.surfaces.cli import main

    monkeypatch.setenv("YTMETRICS_SOURCE", "youtube")
    monkeypatch.setenv("YOUTUBE_API_KEY", HOSTILE_KEY)
    monkeypatch.setenv("YTMETRICS_YOUTUBE_API_URL", simulator.base_url)
    for fault in ("echoKey", "echoKeyHtml"):
        simulator.state.script("channels", [fault])
        assert main(["track-channel", "@simchannel03"]) != 0
    out = capsys.readouterr()
    assert "error:" in out.err
    with engine.connect() as conn:
        reasons = conn.execute(text("SELECT reason FROM ytmetrics.api_calls")).scalars().all()
    assert len(reasons) == 2
    assert_no_key(out.out + out.err + repr(reasons))


def test_lowering_the_latency_releases_the_requests_waiting_out_the_old_one(simulator):
    import threading
    import time

    simulator.state.latency_seconds = 60.0
    answers: list[requests.Response] = []
    url = simulator.base_url + "/videos"
    params = {"part": "statistics", "id": normal_ids(3)[0]}
    waiting = [
        threading.Thread(
            target=lambda: answers.append(requests.get(url, params=params, timeout=30))
        )
        for _ in range(2)
    ]
    for thread in waiting:
        thread.start()
    wait_until(lambda: simulator.state.in_flight == 2, 10, "both requests to arrive", 0.01)
    time.sleep(0.2)
    assert simulator.state.in_flight == 2  # held by the latency
    started = time.monotonic()
    simulator.state.latency_seconds = 0.5  # their 0.5 s are over: answered now
    for thread in waiting:
        thread.join(10)
    assert time.monotonic() - started < 5
    assert [a.status_code for a in answers] == [200, 200]
    assert [len(a.json()["items"]) for a in answers] == [1, 1]
    # the server counts a request done after its answer is sent (the client may read it first)
    wait_until(lambda: simulator.state.in_flight == 0, 5, "both requests counted done", 0.01)
    # a reset releases them too
    simulator.state.latency_seconds = 60.0
    late = threading.Thread(
        target=lambda: answers.append(requests.get(url, params=params, timeout=30))
    )
    late.start()
    wait_until(lambda: simulator.state.in_flight == 1, 10, "the request to arrive", 0.01)
    simulator.state.reset()
    late.join(10)
    assert not late.is_alive() and answers[-1].status_code == 200
