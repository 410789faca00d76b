"""Age-tiered cadence: the pure rules, and which videos an hourly partition observes."""

import json
from datetime import timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.domain.cadence import Tier, parse_cadence
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import DAY, normal_ids, published_between

pytestmark = pytest.mark.db

TIERED = {
    "ops": {"video_metric_snapshots": {"config": {"cadence": "7d:1h,*:24h", "daily_hour_utc": 12}}}
}


@pytest.mark.unit
def test_parse_cadence():
    cadence = parse_cadence("7d:1h,30d:6h,*:24h", anchor_hour=3)
    assert cadence.tiers == (Tier(168.0, 1), Tier(720.0, 6), Tier(None, 24))
    assert cadence.interval_for_age(10) == 1
    assert cadence.interval_for_age(200) == 6
    assert cadence.interval_for_age(10_000) == 24
    assert cadence.interval_for_age(None) == 24
    assert cadence.units_per_day({1: 120, 24: 51}) == 3 * 24 + 2


@pytest.mark.unit
@pytest.mark.parametrize(
    "spec", ["", "7d:1h", "7d:5h,*:24h", "*:24h,7d:1h", "30d:1h,7d:6h,*:24h", "7x:1h,*:24h"]
)
def test_invalid_cadence_is_rejected(spec):
    with pytest.raises(ValueError):
        parse_cadence(spec)


def test_young_videos_hourly_older_ones_daily_at_the_fixed_hour(engine, resources):
    young = published_between(DAY - timedelta(days=3), DAY - timedelta(days=1), "young")
    old = normal_ids(1)[0]
    queue_registrations(engine, [(young, young), (old, old)])
    assert dg.materialize([tracked_videos], resources=resources).success

    hours = [DAY + timedelta(hours=h) for h in (10, 11, 12, 13, 14)]
    for at in hours:
        key = at.strftime("%Y-%m-%d-%H:%M")
        assert dg.materialize(
            [video_metric_snapshots], partition_key=key, resources=resources, run_config=TIERED
        ).success
    with engine.connect() as conn:
        stored = pd.read_sql_query(
            text("SELECT video_id, snapshot_hour FROM ytmetrics.snapshots"), conn
        )
    observed = stored.groupby("video_id").snapshot_hour.apply(sorted).to_dict()
    assert observed[young] == hours
    # first observation at once (never observed), then only at 12:00 UTC
    assert observed[old] == [hours[0], hours[2]]

    result = dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": hours[0].strftime("%Y-%m-%d-%H:%M"),
            "dagster/asset_partition_range_end": hours[-1].strftime("%Y-%m-%d-%H:%M"),
        },
    )
    assert result.success
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT hours_elapsed, views_gained, views_per_hour FROM ytmetrics.growth_hourly WHERE video_id = :v AND snapshot_hour = :h"
            ),
            {"v": old, "h": hours[2]},
        ).one()
    assert row.hours_elapsed == pytest.approx(2.0)
    assert row.views_per_hour == pytest.approx(row.views_gained / 2.0)


def test_a_missed_daily_observation_is_caught_up(engine, resources):
    old = normal_ids(1)[0]
    queue_registrations(engine, [(old, old)])
    assert dg.materialize([tracked_videos], resources=resources).success
    first = DAY - timedelta(hours=13)  # 11:00 the day before
    for at in (first, first + timedelta(hours=24), first + timedelta(hours=25)):
        key = at.strftime("%Y-%m-%d-%H:%M")
        dg.materialize(
            [video_metric_snapshots], partition_key=key, resources=resources, run_config=TIERED
        )
    with engine.connect() as conn:
        hours = sorted(
            r[0] for r in conn.execute(text("SELECT snapshot_hour FROM ytmetrics.snapshots"))
        )
    # 12:00 on the 19th never ran: at 11:00 on the 20th the last observation is 24 h old, so
    # the video is caught up; 12:00 on the 20th is its regular daily hour.
    assert hours == [first, first + timedelta(hours=24), first + timedelta(hours=25)]


def test_the_sql_tier_function_picks_tiers_by_position_not_json_order(engine):
    from sqlalchemy import text

    from ytmetrics_dagster.domain.cadence import parse_cadence

    tiers = parse_cadence("1d:1h,7d:6h,*:24h").tiers_json()
    assert [t["pos"] for t in tiers] == [0, 1, 2]
    shuffled = json.dumps([tiers[2], tiers[0], tiers[1]])
    with engine.connect() as conn:
        pick = conn.execute(
            text("SELECT ytmetrics.cadence_interval(CAST(:t AS jsonb), :age)"),
            {"t": shuffled, "age": 2.0},
        ).scalar_one()
    assert pick == 1  # the youngest tier, whatever order the JSON has
