"""Single-run backfills of the derived assets: every partition shows its own figures, never the
run's totals."""

from datetime import timedelta

import dagster as dg
import pytest

from ytmetrics_dagster.defs.growth.analysis import channel_growth_daily
from ytmetrics_dagster.defs.growth.assets import video_growth_daily, video_growth_hourly
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

from .helpers import CATALOG, DAY, hour_range, register
from .helpers import HOUR_KEY as KEY

pytestmark = pytest.mark.db


def views(vid, hour):
    return CATALOG.profile(vid).statistics_at(hour + timedelta(minutes=5)).view_count


def two_channel_videos():
    """Three steady videos, two of them on one channel."""
    by_channel: dict[int, list[str]] = {}
    for vid in CATALOG.find_ids(
        lambda p: p.exists and p.gone_at is None and p.published_at < DAY - timedelta(days=10),
        prefix="partmeta",
        limit=300,
    ):
        group = by_channel.setdefault(CATALOG.profile(vid).channel_index, [])
        group.append(vid)
        if len(group) == 2:
            other = next(v for c, g in by_channel.items() if c != group[0] for v in g)
            return [*group, other]
    raise AssertionError("no channel with two videos")


def events_by_partition(result, node):
    return {e.partition: e.metadata for e in result.asset_materializations_for_node(node)}


def test_growth_backfills_show_each_partitions_own_figures(engine, resources):
    ids = two_channel_videos()
    register(engine, resources, ids)
    first, last = DAY - timedelta(hours=1), DAY + timedelta(days=1, hours=5)
    # a day of hourly snapshots plus a few hours either side, in one backfill run
    hours = [
        first + timedelta(hours=h) for h in range(int((last - first) / timedelta(hours=1)) + 1)
    ]
    assert dg.materialize(
        [video_metric_snapshots], resources=resources, tags=hour_range(first, last)
    ).success

    growth = dg.materialize(
        [video_growth_hourly], resources=resources, tags=hour_range(first, last)
    )
    assert growth.success
    per_hour = events_by_partition(growth, "video_growth_hourly")
    assert set(per_hour) == {f"{h:{KEY}}" for h in hours}
    for hour in hours:
        m = per_hour[f"{hour:{KEY}}"]
        assert m["hours_in_run"].value == len(hours)
        assert m["dagster/row_count"].value == 3
        if hour == first:
            assert m["first_observations"].value == 3
            assert m["views_gained_since_previous_observations"].value == 0
        else:
            assert m["first_observations"].value == 0
            assert m["views_gained_since_previous_observations"].value == sum(
                views(v, hour) - views(v, hour - timedelta(hours=1)) for v in ids
            )
            # the top growers of the hour up to the partition's observation
            top = m["top_growers"].value
            assert f"{hour - timedelta(minutes=55):%Y-%m-%d %H:%M}" in top
            best = max(ids, key=lambda v: views(v, hour) - views(v, hour - timedelta(hours=1)))
            assert top.index(best) < min(top.index(v) for v in ids if v != best)

    days = [DAY, DAY + timedelta(days=1)]
    day_tags = {
        "dagster/asset_partition_range_start": f"{days[0]:%Y-%m-%d}",
        "dagster/asset_partition_range_end": f"{days[-1]:%Y-%m-%d}",
    }
    daily = dg.materialize([video_growth_daily], resources=resources, tags=day_tags)
    assert daily.success
    per_day = events_by_partition(daily, "video_growth_daily")
    day1_end = DAY + timedelta(hours=23)
    day2_end = last
    expected = {
        f"{DAY:%Y-%m-%d}": sum(views(v, day1_end) - views(v, first) for v in ids),
        f"{DAY + timedelta(days=1):%Y-%m-%d}": sum(
            views(v, day2_end) - views(v, day1_end) for v in ids
        ),
    }
    assert {k: m["views_gained"].value for k, m in per_day.items()} == expected
    for m in per_day.values():
        assert m["dagster/row_count"].value == 3
        assert m["days_in_run"].value == 2
        assert "top_growers" in m and m["source"].value == "simulator"

    channels = dg.materialize([channel_growth_daily], resources=resources, tags=day_tags)
    assert channels.success
    per_channel_day = events_by_partition(channels, "channel_growth_daily")
    assert {k: m["views_gained"].value for k, m in per_channel_day.items()} == expected
    shared = CATALOG.profile(ids[0]).channel_id
    for key, m in per_channel_day.items():
        assert m["dagster/row_count"].value == 2  # two channels
        end = day1_end if key == f"{DAY:%Y-%m-%d}" else day2_end
        start = first if key == f"{DAY:%Y-%m-%d}" else day1_end
        gains = {v: views(v, end) - views(v, start) for v in ids}
        shared_gain = gains[ids[0]] + gains[ids[1]]
        top = shared if shared_gain >= gains[ids[2]] else CATALOG.profile(ids[2]).channel_id
        assert m["top_channel"].value == top
