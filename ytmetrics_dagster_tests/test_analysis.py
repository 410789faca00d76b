"""Growth under gaps, channel growth, launch curves, milestones, the read API, asset checks,
and single-run backfills equal to hour-by-hour results."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.analysis import (
    channel_growth_daily,
    video_launch_curves,
    video_milestone_projections,
)
from ytmetrics_dagster.defs.growth.assets import video_growth_daily, video_growth_hourly
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse import metric_series, performance, read_limits, top_growers
from ytmetrics_dagster.warehouse.analysis import ETA_HORIZON_HOURS
from ytmetrics_dagster.warehouse.growth import rebuild_daily_growth, rebuild_hourly_growth
from ytmetrics_dagster.warehouse.videos import UnknownVideoError

from .helpers import (
    CATALOG,
    DAY,
    frame,
    hour_key,
    hour_range,
    normal_ids,
    observe_directly,
    published_between,
    register,
    snapshot,
    steady,
    track_directly,
)

pytestmark = pytest.mark.db


def day_range(first, last):
    return {
        "dagster/asset_partition_range_start": f"{first:%Y-%m-%d}",
        "dagster/asset_partition_range_end": f"{last:%Y-%m-%d}",
    }


def truth(vid, at):
    return CATALOG.profile(vid).statistics_at(at + timedelta(minutes=5))


def test_growth_bridges_a_video_that_went_unavailable_and_came_back(engine, resources):
    vid, other = normal_ids(2)
    register(engine, resources, [vid, other])
    snapshot(resources, DAY + timedelta(hours=9))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ytmetrics.videos SET status = 'unavailable' WHERE video_id = :v"),
            {"v": vid},
        )
    for h in (10, 11, 12):
        snapshot(resources, DAY + timedelta(hours=h))
    assert dg.materialize([tracked_videos], resources=resources).success  # the re-check finds it
    snapshot(resources, DAY + timedelta(hours=14))
    dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags=hour_range(DAY + timedelta(hours=9), DAY + timedelta(hours=14)),
    )
    row = frame(
        engine,
        "SELECT * FROM ytmetrics.growth_hourly WHERE video_id = :v AND snapshot_hour = :h",
        v=vid,
        h=DAY + timedelta(hours=14),
    ).iloc[0]
    assert row.hours_elapsed == pytest.approx(5.0)
    expected = (
        truth(vid, DAY + timedelta(hours=14)).view_count
        - truth(vid, DAY + timedelta(hours=9)).view_count
    )
    assert row.views_gained == expected
    assert row.views_per_hour == pytest.approx(expected / 5.0)


def _same_channel_videos(n=2):
    found = {}
    for vid in CATALOG.find_ids(
        lambda p: steady(p) and not p.likes_hidden and not p.comments_disabled,
        prefix="chan",
        limit=400,
    ):
        found.setdefault(CATALOG.profile(vid).channel_index, []).append(vid)
        group = found[CATALOG.profile(vid).channel_index]
        if len(group) == n:
            return group
    raise AssertionError("no channel with enough videos")


def test_channel_growth_daily_sums_its_videos_and_names_the_top_one(engine, resources):
    ids = _same_channel_videos(2)
    track_directly(engine, ids)
    observe_directly(engine, [DAY + timedelta(hours=h) for h in (-1, 0, 12, 23)])
    dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags=hour_range(DAY - timedelta(hours=1), DAY + timedelta(hours=23)),
    )
    dg.materialize([video_growth_daily], partition_key=f"{DAY:%Y-%m-%d}", resources=resources)
    result = dg.materialize(
        [channel_growth_daily], partition_key=f"{DAY:%Y-%m-%d}", resources=resources
    )
    assert result.success
    row = frame(engine, "SELECT * FROM ytmetrics.channel_growth_daily").iloc[0]
    gained = {
        v: truth(v, DAY + timedelta(hours=23)).view_count
        - truth(v, DAY - timedelta(hours=1)).view_count
        for v in ids
    }
    assert row.channel_id == CATALOG.profile(ids[0]).channel_id
    assert row.videos_observed == 2
    assert row.views_gained == sum(gained.values())
    assert row.top_video_id == max(gained, key=gained.get)


def test_launch_curves_interpolate_between_real_observations(engine, resources):
    young = published_between(DAY - timedelta(hours=30), DAY - timedelta(hours=26), "launch")
    profile = CATALOG.profile(young)
    track_directly(engine, [young])
    pub_hour = profile.published_at.replace(minute=0, second=0, microsecond=0)
    observed_hours = [pub_hour + timedelta(hours=h) for h in (1, 2, 6, 7, 23, 24, 25, 26)]
    observe_directly(engine, observed_hours)
    assert dg.materialize([video_launch_curves], resources=resources).success
    curve = frame(
        engine,
        "SELECT * FROM ytmetrics.video_launch_curves WHERE video_id = :v ORDER BY age_hours",
        v=young,
    ).set_index("age_label")

    def observed(at):
        return at + timedelta(minutes=5)

    for label, hours in (("1h", 1), ("6h", 6), ("24h", 24)):
        target = profile.published_at + timedelta(hours=hours)
        obs = [observed(h) for h in observed_hours]
        before = max(o for o in obs if o <= target)
        after = min(o for o in obs if o >= target)
        v0, v1 = profile.statistics_at(before).view_count, profile.statistics_at(after).view_count
        w = (target - before) / (after - before)
        row = curve.loc[label]
        assert row.views == pytest.approx(v0 + w * (v1 - v0))
        assert bool(row.interpolated) is True
        assert row.before_observed_at == before and row.after_observed_at == after
    # 48 h and older ages have not been reached or not observed around: NULL, not guessed
    assert curve.loc["48h"].views is None or pd.isna(curve.loc["48h"].views)
    assert "7d" not in curve.index or pd.isna(curve.loc["7d"].views)
    median = frame(
        engine,
        "SELECT * FROM ytmetrics.channel_launch_curves WHERE channel_id = :c",
        c=profile.channel_id,
    )
    # one video of its channel: its "median" would be itself, so none is stored (3 at least)
    assert median.empty


def test_milestone_projection_states_method_and_window(engine, resources):
    vid = normal_ids(1)[0]
    track_directly(engine, [vid])
    hours = [DAY + timedelta(hours=h) for h in (0, 12, 24)]
    observe_directly(engine, hours)
    assert dg.materialize([video_milestone_projections], resources=resources).success
    row = frame(engine, "SELECT * FROM ytmetrics.video_milestones").iloc[0]
    first, last = truth(vid, hours[0]), truth(vid, hours[2])
    rate = (last.view_count - first.view_count) / 24.0
    assert row.views == last.view_count
    assert row.views_per_hour == pytest.approx(rate)
    assert row.next_milestone > last.view_count and str(row.next_milestone).strip("0") == "1"
    # the straight line reaches the milestone decades out: beyond the one-year horizon, so
    # stored without a date (reported as "beyond 1 year")
    assert (row.next_milestone - last.view_count) / rate > ETA_HORIZON_HOURS
    assert row.eta_hours is None and row.eta_at is None
    assert "24 h" in row.method and row.window_hours == pytest.approx(24.0)


def test_read_api_analysis_and_errors(engine, resources):
    vid = normal_ids(1)[0]
    track_directly(engine, [vid])
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    observe_directly(engine, [now - timedelta(hours=h) for h in (30, 6, 5, 4, 3, 2)])
    dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags=hour_range(now - timedelta(hours=30), now - timedelta(hours=2)),
    )
    analysis = performance.analyze_video_performance(engine, vid, days=3, interval="hour")
    assert analysis["observations"] == 6 and analysis["data_sources"] == ["simulator"]
    assert len(analysis["series"]) == 6
    assert analysis["growth"]["views"]["absolute"] > 0
    assert analysis["engagement_rate"] > 0
    assert analysis["milestone"]["next_milestone"] > analysis["latest"]["view_count"]
    assert analysis["velocity"]["views_per_hour_recent"] > 0

    top = top_growers.top_growing(engine, hours=48, limit=5)
    assert list(top.video_id) == [vid]
    assert (
        top.views_gained.iloc[0]
        == truth(vid, now - timedelta(hours=2)).view_count
        - truth(vid, now - timedelta(hours=30)).view_count
    )

    with pytest.raises(UnknownVideoError):
        performance.analyze_video_performance(engine, "AAAAAAAAAAA")
    with pytest.raises(read_limits.InvalidQueryError, match="hour, day, week, month"):
        metric_series.video_metrics(engine, vid, interval="fortnight")
    with pytest.raises(read_limits.InvalidQueryError):
        metric_series.video_metrics(engine, vid, days=0)


def test_decreasing_views_warn_but_do_not_block(engine, resources):
    vid = normal_ids(1)[0]
    register(engine, resources, [vid])
    first = snapshot(resources, DAY + timedelta(hours=1))
    assert {e.check_name: e for e in first.get_asset_check_evaluations()}[
        "views_not_decreasing"
    ].passed
    with engine.begin() as conn:  # YouTube "corrected" the count downward since
        conn.execute(text("UPDATE ytmetrics.metric_snapshots SET view_count = view_count * 2"))
        conn.execute(
            text("UPDATE ytmetrics.video_observation_state SET last_views = last_views * 2")
        )
    result = snapshot(resources, DAY + timedelta(hours=2))
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["views_not_decreasing"].passed
    assert checks["views_not_decreasing"].severity == dg.AssetCheckSeverity.WARN
    assert checks["views_not_decreasing"].metadata["decreasing"].value == 1


def test_a_30_day_single_run_backfill_equals_hour_by_hour(engine, resources):
    start = DAY - timedelta(days=30)
    young = [published_between(start + timedelta(days=3), start + timedelta(days=4), "backfill")]
    register(engine, resources, [*young, *normal_ids(2)])
    last = DAY - timedelta(hours=1)
    tiered = {"ops": {"video_metric_snapshots": {"config": {"cadence": "7d:1h,*:24h"}}}}
    assert dg.materialize(
        [video_metric_snapshots],
        resources=resources,
        tags=hour_range(start, last),
        run_config=tiered,
    ).success
    # the cadence holds inside one backfill run: old videos once a day, the young one hourly
    # for its first week
    per_video = (
        frame(engine, "SELECT video_id, count(*) AS n FROM ytmetrics.snapshots GROUP BY 1")
        .set_index("video_id")
        .n
    )
    for old_video in normal_ids(2):
        assert 30 <= per_video[old_video] <= 31
    assert 7 * 24 <= per_video[young[0]] <= 7 * 24 + 30

    assert dg.materialize(
        [video_growth_hourly], resources=resources, tags=hour_range(start, last)
    ).success
    assert dg.materialize(
        [video_growth_daily], resources=resources, tags=day_range(start, last)
    ).success
    single_hourly = frame(
        engine, "SELECT * FROM ytmetrics.growth_hourly ORDER BY video_id, snapshot_hour"
    )
    single_daily = frame(
        engine, "SELECT * FROM ytmetrics.video_growth_daily ORDER BY video_id, day"
    )
    assert len(single_hourly) > 24 * 3  # the young video's hourly week plus daily observations
    assert len(single_daily) == 30 * 3 - 3  # the young video appears from its publication day

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE ytmetrics.video_growth_hourly, ytmetrics.video_growth_daily"))
    hour = start
    while hour <= last:
        rebuild_hourly_growth(engine, hour, hour + timedelta(hours=1))
        hour += timedelta(hours=1)
    for d in range(30):
        rebuild_daily_growth(engine, start + timedelta(days=d), start + timedelta(days=d + 1))
    # a few partitions through Dagster too, one at a time
    for h in (5, 200, 600):
        at = start + timedelta(hours=h)
        assert dg.materialize(
            [video_growth_hourly], partition_key=hour_key(at), resources=resources
        ).success
    pd.testing.assert_frame_equal(
        single_hourly,
        frame(engine, "SELECT * FROM ytmetrics.growth_hourly ORDER BY video_id, snapshot_hour"),
    )
    pd.testing.assert_frame_equal(
        single_daily,
        frame(engine, "SELECT * FROM ytmetrics.video_growth_daily ORDER BY video_id, day"),
    )
