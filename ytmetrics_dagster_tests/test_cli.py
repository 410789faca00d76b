"""The `ytmetrics` command against the test database."""

import json
import subprocess
import sys
from datetime import timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.cli import main
from ytmetrics_dagster.defs.assets.snapshots import video_metric_snapshots
from ytmetrics_dagster.defs.assets.videos import tracked_videos
from ytmetrics_dagster.warehouse.migrate import head_revision
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import DAY, normal_ids


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM ytmetrics." + table)).scalar_one()


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
    assert vid in capsys.readouterr().out
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT video_id, status FROM ytmetrics.registration_requests")
        ).one()
    assert tuple(row) == (vid, "pending")


def test_console_script_exit_codes(engine):
    ok = subprocess.run(
        [sys.executable, "-m", "ytmetrics_dagster.cli", "videos"], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "ytmetrics_dagster.cli", "register", "not a video"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "not a YouTube video id or URL" in bad.stderr


def _tracked_with_history(engine, resources, ids):
    queue_registrations(engine, [(v, v) for v in ids])
    assert dg.materialize([tracked_videos], resources=resources).success
    for h in (0, 1, 2, 26):
        key = (DAY + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M")
        assert dg.materialize(
            [video_metric_snapshots], partition_key=key, resources=resources
        ).success


def test_videos_listing_formats_and_filters(engine, resources, capsys):
    ids = normal_ids(3)
    _tracked_with_history(engine, resources, ids)
    capsys.readouterr()
    assert main(["videos", "--format", "json", "--limit", "2"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["total"] == 3 and len(payload["rows"]) == 2
    assert main(["videos", "--format", "csv", "--status", "removed"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == "video_id,title,channel_id,channel_title,published_at,status,added_at,last_updated"
    )
    with pytest.raises(SystemExit) as info:
        main(["videos", "--status", "bogus"])
    assert info.value.code == 2


def test_metrics_by_interval_with_growth(engine, resources, capsys, monkeypatch):
    vid = normal_ids(1)[0]
    _tracked_with_history(engine, resources, [vid])
    capsys.readouterr()
    assert main(["metrics", vid, "--days", "3650", "--interval", "hour", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    series = pd.DataFrame(payload["rows"])
    assert len(series) == 4
    assert payload["growth"]["views"]["absolute"] == series.views.iloc[-1] - series.views.iloc[0]
    assert main(["metrics", vid, "--days", "3650", "--interval", "day", "--format", "json"]) == 0
    days = json.loads(capsys.readouterr().out)
    assert [r["observations"] for r in days["rows"]] == [3, 1]
    assert main(["metrics", vid, "--days", "3650"]) == 0
    assert "growth views: +" in capsys.readouterr().out


def test_metrics_rejects_unknown_video_and_bad_interval(engine, capsys):
    assert main(["metrics", "AAAAAAAAAAA"]) == 2
    assert "not tracked" in capsys.readouterr().err
    assert main(["metrics", "AAAAAAAAAAA", "--days", "0"]) == 2


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


def test_reregistering_a_removed_video_reactivates_it(engine, resources):
    vid = normal_ids(1)[0]
    _tracked_with_history(engine, resources, [vid])
    assert main(["remove", vid]) == 0
    assert main(["register", vid]) == 0
    assert dg.materialize([tracked_videos], resources=resources).success
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM ytmetrics.videos")).scalar_one() == "active"


def test_db_commands(engine, database_url, capsys):
    assert main(["db", "url"]) == 0
    assert capsys.readouterr().out.strip() == database_url
    assert main(["db", "upgrade"]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out
