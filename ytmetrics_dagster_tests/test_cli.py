"""The `ytmetrics` command against the test database."""

import io
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.analysis import video_launch_curves
from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.warehouse.migrate import head_revision
from ytmetrics_dagster.warehouse.registrations import pending_summary
from ytmetrics_dagster.youtube.simulator.world import (
    WORLD_START,
    upload_id,
    upload_interval_hours,
)

from .helpers import DAY, hour_range, nonexistent_id, normal_ids, observe_directly, register
from .shape_check import check_shape

pytestmark = pytest.mark.db

MEGABYTE = "x" * 1_000_000


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM ytmetrics." + table)).scalar_one()


def requests_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT video_id, status FROM ytmetrics.registration_requests ORDER BY request_id"
                )
            )
        ]


def run_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _tracked_with_history(engine, resources, ids):
    register(engine, resources, ids)
    # written as the snapshot asset writes them (the subject is the CLI's reads and removal)
    observe_directly(engine, [DAY + timedelta(hours=h) for h in (0, 1, 2, 26)])


@pytest.fixture
def recent_uploads(engine, resources):
    """Four recent uploads of simulated channel 0 (one every 12 h), observed hourly over the
    last 50 hours, with hourly growth and launch curves: every part of every result has data
    (the newest has a channel median of the three others at its ages)."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    last = int(
        (now - timedelta(hours=8) - WORLD_START).total_seconds() / 3600 / upload_interval_hours(0)
    )
    ids = [upload_id(0, n) for n in range(last - 3, last + 1)]
    register(engine, resources, ids)
    # the hours as the snapshot asset writes them, without its call and events for each
    observe_directly(engine, [now - timedelta(hours=h) for h in range(50, 0, -1)])
    assert dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags=hour_range(now - timedelta(hours=50), now - timedelta(hours=1)),
    ).success
    assert dg.materialize([video_launch_curves], resources=resources).success
    return ids


# -- register, requests ----------------------------------------------------------------------


def test_register_invalid_input_queues_nothing_and_exits_2(engine, capsys):
    vid = normal_ids(1)[0]
    code = main(["register", vid, "https://vimeo.com/123"])
    assert code == 2
    err = capsys.readouterr().err
    assert "vimeo.com" in err and "nothing was queued" in err
    assert count(engine, "registration_requests") == 0


def test_register_queues_pending_requests(engine, capsys):
    vid = normal_ids(1)[0]
    assert main(["register", f"https://youtu.be/{vid}"]) == 0
    assert f"queued {vid} (request 1)" in capsys.readouterr().out
    assert requests_rows(engine) == [(vid, "pending")]


def test_register_reports_repeats_pending_and_tracked_videos_without_queueing_them(
    engine, resources, capsys
):
    a, b = normal_ids(2)
    assert main(["register", a, f"https://www.youtube.com/watch?v={a}", b]) == 0
    out = capsys.readouterr().out
    assert f"queued {a} (request 1)" in out and f"queued {b} (request 2)" in out
    assert f"{a} is named more than once; taken once" in out
    assert main(["register", f"youtu.be/{a}"]) == 0
    assert f"{a} is already pending (request 1); not queued again" in capsys.readouterr().out
    assert dg.materialize([tracked_videos], resources=resources).success
    assert main(["register", a]) == 0
    assert f"{a} is already tracked; nothing to do" in capsys.readouterr().out
    assert requests_rows(engine) == [(a, "registered"), (b, "registered")]


def _apply_soon(resources, engine) -> threading.Thread:
    """What registration_requests_sensor does, a moment later: apply the pending requests
    once they are queued."""

    def apply():
        deadline = time.monotonic() + 30
        while pending_summary(engine)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        # after the CLI's first reads (50 ms, then doubling): the verdict comes while it waits
        time.sleep(0.1)
        assert dg.materialize([tracked_videos], resources=resources).success

    thread = threading.Thread(target=apply)
    thread.start()
    return thread


def test_register_wait_prints_each_verdict_and_fails_on_a_rejection(engine, resources, capsys):
    good, ghost = normal_ids(1)[0], nonexistent_id()
    applier = _apply_soon(resources, engine)
    code = main(["register", good, ghost, "--wait", "--timeout", "60"])
    applier.join()
    out = capsys.readouterr().out
    assert code == 3
    assert f"registered {good} (request 1)" in out
    assert f"rejected {ghost} (request 2): YouTube did not return this video" in out

    payload = run_json(capsys, ["requests", "--status", "rejected", "--format", "json"])
    check_shape(payload, models.RequestList)
    assert payload["total"] == 1
    (row,) = payload["requests"]
    assert (row["video_id"], row["status"]) == (ghost, "rejected")
    assert row["reason"].startswith("YouTube did not return this video")
    assert row["resolved_at"].endswith("Z")
    capsys.readouterr()
    assert main(["requests", "--status", "registered"]) == 0
    table = capsys.readouterr().out
    assert good in table and ghost not in table


def test_register_wait_all_registered_exits_0_with_json_verdicts(engine, resources, capsys):
    ids = normal_ids(2)
    applier = _apply_soon(resources, engine)
    payload = run_json(capsys, ["register", *ids, "--wait", "--format", "json"])
    applier.join()
    check_shape(payload, models.Registrations)
    assert [(r["video_id"], r["outcome"], r["status"]) for r in payload["registrations"]] == [
        (ids[0], "queued", "registered"),
        (ids[1], "queued", "registered"),
    ]


def test_register_wait_times_out_with_its_own_exit_code(engine, capsys):
    vid = normal_ids(1)[0]
    assert main(["register", vid, "--wait", "--timeout", "1"]) == 4
    err = capsys.readouterr().err
    assert f"no verdict after 1 s for {vid} (request 1)" in err and "make run" in err


# -- every input form, everywhere a video is named ------------------------------------------


def test_every_video_form_is_accepted_wherever_a_video_is_named(engine, resources, capsys):
    vid = normal_ids(1)[0]
    _tracked_with_history(engine, resources, [vid])
    for form in (
        f"https://youtu.be/{vid}?si=x",
        f"https://www.youtube.com/watch?v={vid}&t=3s",
        f"https://www.youtube.com/shorts/{vid}",
    ):
        assert main(["metrics", form, "--days", "3650", "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["video"]["video_id"] == vid
        assert main(["analyze", form, "--days", "3650"]) == 0
        assert json.loads(capsys.readouterr().out)["video"]["video_id"] == vid
    assert main(["requests", "--video", f"youtu.be/{vid}", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1
    assert main(["remove", f"https://m.youtube.com/watch?v={vid}"]) == 0
    assert f"removed {vid}" in capsys.readouterr().out


def test_metrics_rejects_unknown_video_and_bad_days(engine, capsys):
    assert main(["metrics", "AAAAAAAAAAA"]) == 2
    assert "not tracked" in capsys.readouterr().err
    assert main(["metrics", "https://www.youtube.com/watch?v=AAAAAAAAAAA"]) == 2
    assert "'AAAAAAAAAAA' is not tracked" in capsys.readouterr().err
    assert main(["metrics", "https://vimeo.com/1"]) == 2
    assert "not a YouTube video id or URL" in capsys.readouterr().err


@pytest.mark.unit
def test_one_message_per_parameter(capsys):
    """--days -1 and --days 0 are wrong for the same reason, said the same way."""
    messages = []
    for value in ("-1", "0", "3661", "seven", "1.5"):
        assert main(["metrics", "AAAAAAAAAAA", "--days", value]) == 2
        messages.append(capsys.readouterr().err.replace(repr(value), "VALUE"))
    assert len(set(messages)) == 1
    assert "argument --days: must be an integer from 1 to 3660 (got VALUE)" in messages[0]


# -- listings, metrics, remove ----------------------------------------------------------------


def test_videos_listing_formats_and_filters(engine, resources, capsys):
    ids = normal_ids(3)
    _tracked_with_history(engine, resources, ids)
    payload = run_json(capsys, ["videos", "--format", "json", "--limit", "2"])
    assert payload["total"] == 3 and len(payload["videos"]) == 2
    assert (payload["offset"], payload["limit"]) == (0, 2)
    capsys.readouterr()
    assert main(["videos", "--format", "csv", "--status", "removed"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == "video_id,title,channel_id,channel_title,published_at,status,added_at,last_updated"
    )
    assert main(["videos", "--status", "bogus"]) == 2
    channel = payload["videos"][0]["channel_id"]
    listed = run_json(capsys, ["videos", "--channel", channel, "--format", "json"])
    assert listed["total"] >= 1 and {v["channel_id"] for v in listed["videos"]} == {channel}
    assert main(["videos", "--channel", "@somehandle"]) == 2
    assert "not a handle" in capsys.readouterr().err


def test_metrics_by_interval_with_growth(engine, resources, capsys):
    vid = normal_ids(1)[0]
    _tracked_with_history(engine, resources, [vid])
    payload = run_json(
        capsys, ["metrics", vid, "--days", "3650", "--interval", "hour", "--format", "json"]
    )
    check_shape(payload, models.Metrics)
    series = pd.DataFrame(payload["series"])
    assert len(series) == 4
    assert payload["growth"]["views"]["absolute"] == series.views.iloc[-1] - series.views.iloc[0]
    days = run_json(
        capsys, ["metrics", vid, "--days", "3650", "--interval", "day", "--format", "json"]
    )
    assert [r["observations"] for r in days["series"]] == [3, 1]
    assert main(["metrics", vid, "--days", "3650"]) == 0
    assert "growth views: +" in capsys.readouterr().out


def test_remove_keeps_or_deletes_history(engine, resources, capsys):
    a, b = normal_ids(2)
    _tracked_with_history(engine, resources, [a, b])
    assert main(["remove", a]) == 0
    assert main(["remove", b, "--delete-metrics"]) == 0
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT video_id, status FROM ytmetrics.videos")).all())
        per_video = dict(
            conn.execute(
                text("SELECT video_id, count(*) FROM ytmetrics.snapshots GROUP BY video_id")
            ).all()
        )
    assert statuses == {a: "removed", b: "removed"}
    assert per_video == {a: 4}
    assert main(["remove", "BBBBBBBBBBB"]) == 2
    # a removed video is not observed any more
    key = (DAY + timedelta(hours=5)).strftime("%Y-%m-%d-%H:%M")
    dg.materialize([video_metric_snapshots], partition_key=key, resources=resources)
    assert count(engine, "metric_snapshots") == 4


def test_removing_a_removed_video_says_so_and_changes_nothing(engine, resources, capsys):
    vid = normal_ids(1)[0]
    _tracked_with_history(engine, resources, [vid])
    assert main(["remove", vid]) == 0

    def state():
        with engine.connect() as conn:
            return tuple(
                conn.execute(
                    text("SELECT status, removed_at, last_updated FROM ytmetrics.videos")
                ).one()
            )

    before = state()
    capsys.readouterr()
    assert main(["remove", vid]) == 0
    out = capsys.readouterr().out
    assert f"{vid} was already removed (at {models.timestamp(before[1])}); nothing changed" in out
    assert state() == before
    # asking for its history to go still works, and says what it deleted
    assert main(["remove", vid, "--delete-metrics"]) == 0
    assert "deleted 4 snapshots" in capsys.readouterr().out
    assert state() == before


def test_reregistering_a_removed_video_reactivates_it(engine, resources):
    vid = normal_ids(1)[0]
    _tracked_with_history(engine, resources, [vid])
    assert main(["remove", vid]) == 0
    assert main(["register", vid]) == 0
    assert dg.materialize([tracked_videos], resources=resources).success
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM ytmetrics.videos")).scalar_one() == "active"


# -- JSON shapes --------------------------------------------------------------------------------


def test_json_shapes_of_every_result(
    engine, resources, simulator, recent_uploads, capsys, monkeypatch
):
    """Every field of every result has its documented type (integers for counts, floats for
    rates, Z timestamps, null for NULL), and the data exercised the fields that matter."""
    vid = recent_uploads[-1]
    videos = run_json(capsys, ["videos", "--format", "json"])
    filled = check_shape(videos, models.VideoList)
    assert "$.videos[].published_at" in filled

    metrics = run_json(capsys, ["metrics", vid, "--interval", "hour", "--format", "json"])
    filled = check_shape(metrics, models.Metrics)
    assert {"$.series[].views_gained", "$.growth.views.percent"} <= filled

    analysis = run_json(capsys, ["analyze", vid, "--days", "2"])
    filled = check_shape(analysis, models.Analysis)
    for path in (
        "$.series[].views",
        "$.latest.observed_at",
        "$.velocity.views_per_hour_recent",
        "$.velocity.window_start",
        "$.engagement_rate",
        "$.launch_curve[].views",
        "$.launch_curve[].interpolated",
        "$.vs_channel_median[].ratio_to_median",
        "$.milestone.eta_at",
    ):
        assert path in filled, path
    assert analysis["data_sources"] == ["simulator"]

    top = run_json(capsys, ["top", "--hours", "48", "--format", "json"])
    filled = check_shape(top, models.Top)
    assert {"$.videos[].views_gained", "$.videos[].views_per_hour", "$.videos[].views"} <= filled
    assert top["channel_id"] is None and top["limit"] == 10

    monkeypatch.setenv("YTMETRICS_YOUTUBE_API_URL", simulator.base_url)
    assert main(["track-channel", "@simchannel00"]) == 0
    channels = run_json(capsys, ["channels", "--format", "json"])
    filled = check_shape(channels, models.ChannelList)
    assert {"$.channels[].tracked_at", "$.channels[].active_videos"} <= filled

    requests = run_json(capsys, ["requests", "--format", "json"])
    filled = check_shape(requests, models.RequestList)
    assert "$.requests[].resolved_at" in filled

    registered = run_json(capsys, ["register", vid, "--format", "json"])
    check_shape(registered, models.Registrations)
    assert registered["registrations"][0]["outcome"] == "already_tracked"

    # CSV carries the same columns and the same timestamps as the JSON
    capsys.readouterr()
    assert main(["videos", "--format", "csv"]) == 0
    csv = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype=str)
    assert list(csv.columns) == list(models.VideoRow.model_fields)
    assert set(csv.published_at) == {v["published_at"] for v in videos["videos"]}


@pytest.mark.unit
def test_readme_documents_every_json_shape():
    readme = (Path(__file__).resolve().parents[1] / "docs" / "surfaces.md").read_text()
    assert models.reference() in readme


# -- bad input: exit 2, one line, never a traceback, never a megabyte -----------------------

OUT_OF_RANGE = ["-1", "9223372036854775808", "1e3", "1.5", "", "0x10", "9" * 5000]
NUMERIC_OPTIONS = [
    (["videos"], "--limit"),
    (["videos"], "--offset"),
    (["requests"], "--limit"),
    (["requests"], "--offset"),
    (["metrics", "AAAAAAAAAAA"], "--days"),
    (["analyze", "AAAAAAAAAAA"], "--days"),
    (["top"], "--hours"),
    (["top"], "--limit"),
    (["register", "AAAAAAAAAAA", "--wait"], "--timeout"),
    (["track-channel", "@simchannel00"], "--existing"),
    (["demo-history"], "--hours"),
    (["dev"], "--port"),
]


@pytest.mark.unit
@pytest.mark.parametrize(("command", "option"), NUMERIC_OPTIONS)
def test_numeric_options_out_of_range_are_invalid_input(command, option, capsys):
    for value in OUT_OF_RANGE:
        assert main([*command, f"{option}={value}"]) == 2, value
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert f"argument {option}: must be" in lines[0] and "Traceback" not in captured.err
        assert len(lines[0]) < 500


@pytest.mark.unit
def test_numeric_options_at_their_bounds_are_accepted():
    from ytmetrics_dagster.surfaces.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["videos", "--offset", "1000000000", "--limit", "10000"]).offset == (
        1_000_000_000
    )
    assert parser.parse_args(["top", "--hours", "8784", "--limit", "1"]).hours == 8784
    assert parser.parse_args(["track-channel", "@x", "--existing", "all"]).existing is None


def test_a_megabyte_of_input_is_never_echoed(engine, capsys):
    for argv in (
        ["register", MEGABYTE],
        ["register", *(["bad"] * 50_000)],
        ["metrics", MEGABYTE],
        ["remove", "https://youtu.be/" + MEGABYTE],
        ["videos", "--status", MEGABYTE],
        ["videos", "--limit", "9" * 1_000_000],
        ["videos", "--channel", MEGABYTE],
        ["requests", "--video", MEGABYTE],
        ["track-channel", MEGABYTE],
        [MEGABYTE],
    ):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert len(captured.err) < 2_000, (argv[0], len(captured.err))
    assert count(engine, "registration_requests") == 0


@pytest.mark.system
def test_console_script_exit_codes(engine):
    ok = subprocess.run(
        [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli", "videos"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli", "register", "not a video"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "not a YouTube video id or URL" in bad.stderr


@pytest.mark.system
@pytest.mark.parametrize("command", [["register"], ["metrics"], ["videos", "--channel"]])
def test_undecodable_arguments_are_invalid_input(engine, command):
    """Bytes that are not UTF-8 arrive as lone surrogates (surrogateescape)."""
    result = subprocess.run(
        [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli", *command, b"dQw4w9WgXcQ\xff\xfe"],
        capture_output=True,
    )
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "not valid UTF-8" in err and "Traceback" not in err


# -- the database -------------------------------------------------------------------------------


def test_db_url_is_a_libpq_url_for_psql(engine, database_url, capsys):
    assert main(["db", "url"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("postgresql://")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("ytmetrics_test",)
    assert main(["db", "url", "--sqlalchemy"]) == 0
    assert capsys.readouterr().out.strip() == database_url


def test_db_upgrade(engine, capsys):
    assert main(["db", "upgrade"]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out
    assert main(["db", "downgrade"]) == 2


@pytest.mark.unit
def test_unreachable_database_is_a_runtime_failure(monkeypatch, capsys):
    monkeypatch.setenv("YTMETRICS_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nowhere")
    assert main(["videos"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the warehouse") and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.system
def test_videos_piped_into_head_exits_quietly(engine, database_url):
    # more rows than a pipe buffers (64 KiB), so the writer meets the closed pipe
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.videos (video_id, title, published_at, status, source)"
                " SELECT 'pipe' || lpad(n::text, 7, '0'), repeat('a long title ', 8) || n,"
                " '2026-10-01'::timestamptz, 'active', 'simulator'"
                " FROM generate_series(1, 3000) n"
            )
        )
    ytmetrics = Path(sys.executable).with_name("ytmetrics")
    proc = subprocess.Popen(
        [str(ytmetrics), "videos", "--limit", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "YTMETRICS_DATABASE_URL": database_url},
    )
    first = proc.stdout.readline()  # `| head -1`: read a line, then close the pipe
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert first.strip()
    assert err == b"", err.decode()  # no BrokenPipe traceback, nothing at all
    assert proc.returncode == 141  # 128 + SIGPIPE, as a C tool would report
