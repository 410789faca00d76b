"""Channel tracking and discovery through uploads playlists, against the simulator over HTTP."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.channels.sensors import channel_uploads_sensor
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.registration.launchpad import register_videos
from ytmetrics_dagster.defs.registration.sensors import registration_requests_sensor
from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.surfaces.cli import main
from ytmetrics_dagster.youtube.parsing import parse_channel, parse_playlist_video
from ytmetrics_dagster.youtube.simulator.world import (
    CHANNEL_COUNT,
    WORLD_START,
    VideoProfile,
    channel_handle,
    channel_id,
    upload_id,
    upload_interval_hours,
)

from .conftest import FIXTURES
from .helpers import CATALOG, normal_ids

pytestmark = pytest.mark.db

CHANNEL = 0  # a simulated channel uploading every 12 hours


@pytest.mark.unit
def test_parse_recorded_channel_and_playlist_responses():
    channel = parse_channel(json.loads((FIXTURES / "get_channel.json").read_text())["items"][0])
    assert channel.channel_id == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert channel.uploads_playlist_id == "UU_x5XG1OV2P6uZZ5FSM9Ttw"
    assert channel.handle == "@googledevelopers"
    page = json.loads((FIXTURES / "get_playlist_items.json").read_text())
    first = parse_playlist_video(page["items"][0])
    assert first.video_id == "wysukDrMdqU"
    assert first.published_at == datetime(2023, 5, 11, 0, 20, 46, tzinfo=UTC)
    assert page["nextPageToken"]


@pytest.fixture
def sim_env(simulator, monkeypatch):
    monkeypatch.setenv("YTMETRICS_YOUTUBE_API_URL", simulator.base_url)
    return simulator


def pending(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT video_id, requested_by FROM ytmetrics.registration_requests WHERE status = 'pending' ORDER BY request_id"
                )
            )
        ]


def ledger_units(engine, method: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT coalesce(sum(units), 0) FROM ytmetrics.api_calls WHERE method = :m"),
            {"m": method},
        ).scalar_one()


def test_track_channel_by_handle_url_or_id_with_existing_uploads(engine, sim_env, capsys):
    assert (
        main(
            [
                "track-channel",
                f"https://www.youtube.com/{channel_handle(CHANNEL)}",
                "--existing",
                "120",
            ]
        )
        == 0
    )
    queued = pending(engine)
    assert len(queued) == 120
    assert {by for _, by in queued} == {f"channel:{channel_id(CHANNEL)}"}
    assert ledger_units(engine, "channels") == 1
    assert ledger_units(engine, "playlistItems") == 3  # 50 + 50 + 20
    # tracking again (by id) adds nothing already queued
    assert main(["track-channel", channel_id(CHANNEL), "--existing", "10"]) == 0
    assert len(pending(engine)) == 120
    capsys.readouterr()
    assert main(["channels", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["channels"]
    assert rows[0]["channel_id"] == channel_id(CHANNEL) and rows[0]["uploads_registered"] == 120


def test_unknown_and_invalid_channels_change_nothing(engine, sim_env, capsys):
    assert main(["track-channel", "@nobody-here"]) == 2
    assert "no channel" in capsys.readouterr().err
    assert main(["track-channel", "https://vimeo.com/channels/x"]) == 2
    assert main(["track-channel", "dQw4w9WgXcQ"]) == 2
    assert "ytmetrics register" in capsys.readouterr().err
    assert main(["untrack-channel", "@simchannel09"]) == 2
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ytmetrics.channels")).scalar_one() == 0
    assert pending(engine) == []


def _rewind_polls(engine, hours: float = 1) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ytmetrics.channels SET last_polled_at = last_polled_at - make_interval(hours => :h)"
            ),
            {"h": hours},
        )


def test_uploads_sensor_registers_only_new_uploads_across_pages(
    engine, resources, sim_env, dagster_pg_url
):
    assert main(["track-channel", channel_handle(CHANNEL)]) == 0  # existing uploads: none
    assert pending(engine) == []
    sensor_resources = {"youtube": resources["youtube"], "warehouse": resources["warehouse"]}

    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_pg_url}}}
    ) as instance:

        def tick(cursor=None):
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=sensor_resources
            )
            return context, channel_uploads_sensor(context)

        # just polled by track-channel: not due yet
        context, result = tick()
        assert "polled 0 channel(s)" in result.skip_message

        _rewind_polls(engine)
        context, result = tick(context.cursor)
        assert "queued 0 new upload(s)" in result.skip_message  # nothing published since tracking

        # the simulated clock moves on 2 days: the channel publishes about 4 videos
        sim_env.state.now_override = datetime.now(UTC) + timedelta(days=2)
        _rewind_polls(engine)
        context, result = tick(context.cursor)
        first_batch = pending(engine)
        assert 3 <= len(first_batch) <= 5
        assert "1 page(s)" in result.skip_message

        # 65 days later: about 130 new uploads, three pages; the tick pages until it meets a
        # known video (capped at 4 pages)
        sim_env.state.now_override = datetime.now(UTC) + timedelta(days=2 + 65)
        _rewind_polls(engine)
        calls = ledger_units(engine, "playlistItems")
        context, result = tick(context.cursor)
        second = pending(engine)
        assert 120 <= len(second) - len(first_batch) <= 140
        assert ledger_units(engine, "playlistItems") - calls == 3
        assert len({v for v, _ in second}) == len(second)  # never queued twice
        assert json.loads(context.cursor)["queued_total"] == len(second)

        # the registration sensor turns them into exactly one run request
        reg = dg.build_sensor_context(
            instance=instance, resources={"warehouse": resources["warehouse"]}
        )
        request = registration_requests_sensor(reg)
        assert isinstance(request, dg.RunRequest)


def test_register_videos_job_from_the_launchpad(engine, database_url):
    warehouse = WarehouseResource(database_url=database_url)
    vid = normal_ids(1)[0]
    bad = register_videos.execute_in_process(
        run_config={
            "ops": {
                "queue_video_registrations": {"config": {"inputs": [vid, "https://vimeo.com/1"]}}
            }
        },
        resources={"warehouse": warehouse},
        raise_on_error=False,
    )
    assert not bad.success
    assert "vimeo.com" in bad.failure_data_for_node("queue_video_registrations").error.message
    assert pending(engine) == []
    good = register_videos.execute_in_process(
        run_config={
            "ops": {
                "queue_video_registrations": {"config": {"inputs": [f"https://youtu.be/{vid}"]}}
            }
        },
        resources={"warehouse": warehouse},
    )
    assert good.success
    assert pending(engine) == [(vid, "dagster-ui")]


def _upload_that_goes_away(after: datetime) -> tuple[int, VideoProfile]:
    """The first upload (of any simulated channel) published after ``after`` that later
    disappears from YouTube: listed in its channel's uploads while visible, refused after."""
    best = None
    for ch in range(CHANNEL_COUNT):
        n = int((after - WORLD_START).total_seconds() / 3600 / upload_interval_hours(ch)) + 1
        for k in range(n, n + 400):
            profile = CATALOG.profile(upload_id(ch, k))
            if profile.gone_at and profile.published_at > after:
                if best is None or profile.published_at < best[1].published_at:
                    best = (ch, profile)
                break
    assert best is not None
    return best


def test_a_rejected_upload_is_not_queued_again_by_discovery_but_can_be_registered_by_hand(
    engine, resources, sim_env, dagster_pg_url
):
    channel, gone = _upload_that_goes_away(datetime.now(UTC) + timedelta(hours=1))
    assert main(["track-channel", channel_handle(channel)]) == 0
    visible_at = gone.published_at + timedelta(hours=1)
    refused_at = gone.gone_at + timedelta(hours=1)
    sensor_resources = {"youtube": resources["youtube"], "warehouse": resources["warehouse"]}

    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_pg_url}}}
    ) as instance:

        def poll_at(at: datetime) -> str:
            sim_env.state.now_override = at
            _rewind_polls(engine, hours=24 * 400)
            context = dg.build_sensor_context(instance=instance, resources=sensor_resources)
            return channel_uploads_sensor(context).skip_message

        poll_at(visible_at)
        first = [v for v, _ in pending(engine)]
        assert gone.video_id in first
        # by the time the registration run asks, YouTube no longer returns it
        sim_env.state.now_override = refused_at
        registration = dg.materialize([tracked_videos], resources=resources)
        md = registration.asset_materializations_for_node("tracked_videos")[0].metadata
        assert md["rejected"].value >= 1
        with engine.connect() as conn:
            status = conn.execute(
                text(
                    "SELECT status, reason FROM ytmetrics.registration_requests WHERE video_id = :v"
                ),
                {"v": gone.video_id},
            ).one()
        assert status.status == "rejected" and "did not return" in status.reason

        # the playlist lists it again (visible there, refused by videos.list): every later
        # poll leaves it alone, so no registration run spends quota on it again
        videos_calls = ledger_units(engine, "videos")
        for _ in range(3):
            message = poll_at(visible_at)
            assert "queued 0 new upload(s)" in message
            assert pending(engine) == []
        reg = dg.build_sensor_context(
            instance=instance, resources={"warehouse": resources["warehouse"]}
        )
        assert isinstance(registration_requests_sensor(reg), dg.SkipReason)  # nothing pending
        assert ledger_units(engine, "videos") == videos_calls

    # by hand it can still be registered (and is, when YouTube returns it)
    assert main(["register", gone.video_id]) == 0
    assert pending(engine) == [(gone.video_id, "cli")]
    sim_env.state.now_override = visible_at
    assert dg.materialize([tracked_videos], resources=resources).success
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT status FROM ytmetrics.videos WHERE video_id = :v"),
                {"v": gone.video_id},
            ).scalar_one()
            == "active"
        )
