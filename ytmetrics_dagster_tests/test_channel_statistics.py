"""Channel statistics observed hourly with the snapshot run: channels.list part=statistics
through the same client, ledger and quota (1 unit per 50 channels), hidden subscriber counts
stored as NULL, growth between observations; the simulator serves them as the API does."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.definitions import defs
from ytmetrics_dagster.defs.channels.assets import channel_statistics
from ytmetrics_dagster.defs.snapshots.jobs import hourly_snapshot_job
from ytmetrics_dagster.warehouse.channels import upsert_channel
from ytmetrics_dagster.youtube.simulator import representations as sim
from ytmetrics_dagster.youtube.simulator.world import channel_id, channel_info

from .helpers import CATALOG, DAY, frame, hour_range

pytestmark = pytest.mark.db

HIDDEN = 7  # a simulated channel that hides its subscriber count
INDEXES = (0, 3, HIDDEN)


def track(engine, indexes):
    for i in indexes:
        upsert_channel(
            engine,
            channel_info(i),
            source="simulator",
            now=datetime.now(UTC),
        )


def truth(index: int, at: datetime) -> dict:
    return sim.channel(CATALOG, index, {"statistics"}, at)["statistics"]


def test_channel_statistics_are_observed_each_hour_with_growth(engine, resources):
    track(engine, INDEXES)
    first, last = DAY + timedelta(hours=2), DAY + timedelta(hours=4)
    result = dg.materialize([channel_statistics], resources=resources, tags=hour_range(first, last))
    assert result.success
    stored = frame(
        engine, "SELECT * FROM ytmetrics.channel_statistics ORDER BY channel_id, snapshot_hour"
    )
    assert len(stored) == 3 * len(INDEXES)
    for i in INDEXES:
        rows = stored[stored.channel_id == channel_id(i)]
        for row in rows.itertuples():
            expected = truth(i, row.snapshot_hour + timedelta(minutes=5))
            assert row.view_count == int(expected["viewCount"])
            assert row.video_count == int(expected["videoCount"])
            if i == HIDDEN:
                assert row.hidden_subscribers and pd.isna(row.subscriber_count)
            else:
                assert row.subscriber_count == int(expected["subscriberCount"])
                assert not row.hidden_subscribers
    assert (stored.source == "simulator").all()
    # one call (one unit) per hour for up to 50 channels, in the same quota ledger
    calls = frame(engine, "SELECT method, units, run_id FROM ytmetrics.api_calls")
    assert list(calls.method) == ["channels"] * 3 and calls.units.sum() == 3
    assert (calls.run_id == result.run_id).all()
    # growth since each previous observation
    growth = frame(
        engine,
        "SELECT * FROM ytmetrics.channel_statistics_growth WHERE channel_id = :c "
        "ORDER BY snapshot_hour",
        c=channel_id(0),
    )
    views = list(growth.view_count)
    assert pd.isna(growth.views_gained.iloc[0])
    assert list(growth.views_gained.iloc[1:]) == [
        b - a for a, b in zip(views[:-1], views[1:], strict=True)
    ]
    assert list(growth.hours_elapsed.iloc[1:]) == [1.0, 1.0]
    # each partition describes its hour
    events = {
        e.partition: {k: v.value for k, v in e.metadata.items()}
        for e in result.asset_materializations_for_node("channel_statistics")
    }
    m = events[f"{last:%Y-%m-%d-%H:%M}"]
    assert m["dagster/row_count"] == 3 and m["channels"] == 3 and m["missed"] == 0
    assert m["hidden_subs"] == 1 and m["api_calls"] == 1
    gained = frame(
        engine,
        "SELECT sum(views_gained) AS v FROM ytmetrics.channel_statistics_growth "
        "WHERE snapshot_hour = :h",
        h=last,
    ).v.iloc[0]
    assert m["views_gained"] == int(gained)


def test_fifty_one_channels_cost_two_units_and_no_channel_no_call(engine, resources):
    hour = DAY + timedelta(hours=6)
    key = f"{hour:%Y-%m-%d-%H:%M}"
    # no tracked channel: nothing is called or stored
    assert dg.materialize([channel_statistics], partition_key=key, resources=resources).success
    assert frame(engine, "SELECT count(*) AS n FROM ytmetrics.api_calls").n.iloc[0] == 0
    # the simulator has 24 channels; 51 distinct ids (27 unknown) need two calls
    track(engine, range(24))
    with engine.begin() as conn:
        for n in range(27):
            fake = "UC" + f"unknownchannel{n:02d}".ljust(22, "x")[:22]
            conn.execute(
                text(
                    "INSERT INTO ytmetrics.channels (channel_id, title, uploads_playlist_id,"
                    " source) VALUES (:c, 'gone', :u, 'simulator')"
                ),
                {"c": fake, "u": "UU" + fake[2:]},
            )
    result = dg.materialize([channel_statistics], partition_key=key, resources=resources)
    assert result.success
    calls = frame(engine, "SELECT units FROM ytmetrics.api_calls WHERE method = 'channels'")
    assert calls.units.sum() == 2
    m = result.asset_materializations_for_node("channel_statistics")[0].metadata
    assert m["dagster/row_count"].value == 24 and m["missed"].value == 27


@pytest.mark.unit
def test_the_hourly_job_observes_channel_statistics():
    job = defs().resolve_job_def(hourly_snapshot_job.name)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"video_metric_snapshots", "channel_statistics"} <= keys


def test_real_api_mode_with_no_channel_to_observe_writes_nothing_and_succeeds(
    engine, resources, simulator
):
    """A stand-in API (key + URL) over a warehouse of simulated rows: with no tracked channel
    the step calls nothing and writes nothing, so it has no source to check and must not fail
    the hourly run (it did: the configured 'youtube' label was refused)."""
    from ytmetrics_dagster.defs.resources import YouTubeResource

    from .helpers import current_hour, normal_ids, track_directly

    track_directly(engine, normal_ids(2))  # simulated rows: the warehouse is a simulated one
    hour = current_hour()
    real_api = dict(
        resources,
        youtube=YouTubeResource(source="youtube", api_key="stand-in", base_url=simulator.base_url),
    )
    before = simulator.state.arrived
    result = dg.materialize(
        [channel_statistics], partition_key=hour.strftime("%Y-%m-%d-%H:%M"), resources=real_api
    )
    assert result.success
    assert simulator.state.arrived == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ytmetrics.channel_statistics")).scalar() == 0
