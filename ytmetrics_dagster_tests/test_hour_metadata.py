"""Each hourly partition of video_metric_snapshots describes its hour, whatever batch wrote
it last; the quota day is observed on the quota ledger's asset."""

from datetime import timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse import hour_facts

from .helpers import DAY, hour_range, normal_ids, register
from .helpers import HOUR_KEY as KEY

pytestmark = pytest.mark.db


def partition_metadata(result) -> dict[str, dict]:
    return {
        e.partition: {k: v.value for k, v in e.metadata.items()}
        for e in result.asset_materializations_for_node("video_metric_snapshots")
    }


def test_a_partition_shows_its_hour_not_its_last_batch(engine, resources, monkeypatch):
    first, late = normal_ids(3)[:2], normal_ids(3)[2]
    register(engine, resources, first)
    hour = DAY + timedelta(hours=7)
    key = f"{hour:{KEY}}"
    assert dg.materialize([video_metric_snapshots], partition_key=key, resources=resources).success
    # a video registered mid-hour is added to the hour as a batch of its own
    register(engine, resources, [late])
    added = dg.materialize(
        [video_metric_snapshots],
        partition_key=key,
        resources=resources,
        run_config={"ops": {"video_metric_snapshots": {"config": {"new_videos_only": True}}}},
    )
    m = partition_metadata(added)[key]
    assert m["batch_rows"] == 1  # what this run wrote...
    assert m["dagster/row_count"] == 3  # ...and what the hour holds
    assert (m["due"], m["observed"], m["deferred"], m["missed"], m["batches"]) == (3, 3, 0, 0, 2)
    # keys fit a column of the UI
    assert max(len(k) for k in m if not k.startswith("dagster/")) <= 20
    assert not any(k.startswith("quota") for k in m)
    # deferrals (issue #19, quota pacing) come from one function; a deferred video is in no
    # batch (the paced run's batches hold what it observed), so it adds to the hour's due;
    # missed is what is due and neither observed nor deferred
    monkeypatch.setattr(hour_facts, "deferred_count", lambda conn, hour: 2)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ytmetrics.snapshot_batches SET videos_due = videos_due + 3 WHERE snapshot_hour = :h"
            ),
            {"h": hour},
        )
    facts = hour_facts.hour_facts(engine, hour)
    assert (facts.due, facts.observed, facts.deferred, facts.missed) == (9 + 2, 3, 2, 4 + 2)


def test_views_gained_within_the_hour_do_not_spike_at_the_daily_hour(engine, resources):
    ids = normal_ids(4)  # old videos: on the daily tier they are observed at 12:00 UTC
    register(engine, resources, ids)
    first, last = DAY + timedelta(hours=10), DAY + timedelta(days=1, hours=13)
    result = dg.materialize(
        [video_metric_snapshots],
        resources=resources,
        tags=hour_range(first, last),
        run_config={
            "ops": {
                "video_metric_snapshots": {"config": {"cadence": "*:24h", "daily_hour_utc": 12}}
            }
        },
    )
    assert result.success
    per_hour = partition_metadata(result)
    noon = DAY + timedelta(days=1, hours=12)
    m = per_hour[f"{noon:{KEY}}"]
    assert m["dagster/row_count"] == 4 and m["due"] == 4
    with engine.connect() as conn:
        stored = pd.read_sql_query(
            text("SELECT video_id, observed_at, view_count FROM ytmetrics.snapshots ORDER BY 1, 2"),
            conn,
        )
    expected = 0.0
    for _, rows in stored.groupby("video_id"):
        now, prev = rows.iloc[-1], rows.iloc[-2]
        assert now.observed_at == noon + timedelta(minutes=5)
        hours = (now.observed_at - prev.observed_at).total_seconds() / 3600
        assert hours > 20  # a daily gain...
        expected += (now.view_count - prev.view_count) / hours  # ...counted as one hour's worth
    assert m["views_gained"] == round(expected)
    # an hour with no video due holds nothing and gains nothing (no total to spike)
    quiet = per_hour[f"{noon - timedelta(hours=1):{KEY}}"]
    assert (quiet["dagster/row_count"], quiet["due"], quiet["views_gained"]) == (0, 0, 0)


def test_the_quota_day_is_observed_on_the_ledger(engine, resources):
    register(engine, resources, normal_ids(2))
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=f"{DAY + timedelta(hours=3):{KEY}}",
        resources=resources,
    )
    (observation,) = result.asset_observations_for_node("video_metric_snapshots")
    assert observation.asset_key == dg.AssetKey("api_calls")
    md = {k: v.value for k, v in observation.metadata.items()}
    assert md["used"] >= 2 and md["budget"] == 9_500 and md["day_pacific"]
    assert max(len(k) for k in md) <= 20


def test_a_first_observation_has_no_24h_gain_on_the_dashboard(engine, resources):
    """The dashboard's list shows views gained in 24 h: NULL (shown as —) for a video observed
    once, not 0 (a first observation has no gain), and the real gain once observed again."""
    from ytmetrics_dagster.warehouse.growth_list import growth_of

    from .helpers import current_hour

    (video,) = normal_ids(1)
    register(engine, resources, [video])
    hour = current_hour()
    assert dg.materialize(
        [video_metric_snapshots],
        partition_key=f"{hour - timedelta(hours=1):{KEY}}",
        resources=resources,
    ).success
    once = growth_of(engine, [video]).loc[video]
    assert pd.isna(once["gained_24h"])
    assert dg.materialize(
        [video_metric_snapshots], partition_key=f"{hour:{KEY}}", resources=resources
    ).success
    twice = growth_of(engine, [video]).loc[video]
    with engine.connect() as conn:
        views = (
            conn.execute(text("SELECT view_count FROM ytmetrics.snapshots ORDER BY snapshot_hour"))
            .scalars()
            .all()
        )
    assert twice["gained_24h"] == views[-1] - views[0]
