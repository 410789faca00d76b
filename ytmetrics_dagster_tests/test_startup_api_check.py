"""`make run` in real-API mode says at start-up whether the YouTube API answers: one
videos.list (1 quota unit, recorded in the ledger; the API has no free request), against the
simulator over HTTP: it answers, the key is invalid, nothing listens."""

import socket
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from ytmetrics_dagster.runtime.devserver import check_youtube_api, prepare

pytestmark = pytest.mark.db

TEST_KEY = "test-key-not-a-secret"


def real_api(base_url: str, key: str = TEST_KEY) -> SimpleNamespace:
    return SimpleNamespace(source="youtube", youtube_api_key=key, youtube_api_url=base_url)


def ledger(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT method, units, http_status, run_id FROM ytmetrics.api_calls")
            )
        ]


def test_an_answering_api_with_a_valid_key(engine, simulator, capsys):
    assert check_youtube_api(engine, real_api(simulator.base_url)) is True
    out, err = capsys.readouterr()
    assert out.startswith("YouTube API: reachable, key valid (checked with one videos.list, 1")
    assert err == ""
    # the one unit it cost is on record, and the simulator charged exactly that
    assert ledger(engine) == [("videos", 1, 200, "devserver:api-check")]
    assert simulator.state.units_used_today() == 1


def test_an_invalid_key(engine, simulator, capsys):
    assert check_youtube_api(engine, real_api(simulator.base_url, "INVALID-KEY")) is False
    out, err = capsys.readouterr()
    assert err.startswith("YouTube API: NOT answering as it should: YouTube API key is invalid")
    assert "INVALID-KEY" not in out + err
    assert [(m, u, s) for m, u, s, _ in ledger(engine)] == [("videos", 1, 400)]


def test_nothing_listening(engine, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = real_api(f"http://127.0.0.1:{port}/youtube/v3")
    assert check_youtube_api(engine, settings) is False
    err = capsys.readouterr().err
    assert err.strip() == (
        "YouTube API: NOT answering as it should: YouTube API unreachable: connection refused "
        f"by 127.0.0.1:{port} (videos, 2 attempts)"
    )
    # each attempt is on record, answered by nobody
    assert [(m, u, s) for m, u, s, _ in ledger(engine)] == [("videos", 1, None)] * 2


def test_start_up_in_real_api_mode_says_it_before_anything_starts(
    engine, database_url, simulator, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("YTMETRICS_SOURCE", "youtube")
    monkeypatch.setenv("YOUTUBE_API_KEY", TEST_KEY)
    monkeypatch.setenv("YTMETRICS_YOUTUBE_API_URL", simulator.base_url)
    monkeypatch.setenv("YTMETRICS_HOME", str(tmp_path))
    monkeypatch.setenv("YTMETRICS_DATABASE_URL", database_url)
    prepare(demo=False, simulator_url=None)
    out = capsys.readouterr().out
    assert "source: YouTube Data API v3\nYouTube API: reachable, key valid" in out
    assert TEST_KEY not in out
    assert ledger(engine) == [("videos", 1, 200, "devserver:api-check")]


def test_the_simulated_demo_spends_nothing_on_a_check(
    engine, database_url, simulator, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("YTMETRICS_SOURCE", "simulator")
    monkeypatch.setenv("YTMETRICS_YOUTUBE_API_URL", simulator.base_url)
    monkeypatch.setenv("YTMETRICS_HOME", str(tmp_path))
    monkeypatch.setenv("YTMETRICS_DATABASE_URL", database_url)
    prepare(demo=False, simulator_url=None)
    assert "YouTube API:" not in capsys.readouterr().out
    assert ledger(engine) == []
