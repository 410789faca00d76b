"""Real Dagster materializations against the embedded Postgres and the HTTP simulator."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from ytmetrics_dagster.defs.growth.assets import video_growth_daily, video_growth_hourly
from ytmetrics_dagster.defs.resources import YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import observation_time, video_metric_snapshots

from .helpers import (
    CATALOG,
    DAY,
    comments_off_id,
    current_hour,
    hidden_likes_id,
    hour_key,
    nonexistent_id,
    normal_ids,
    observe_directly,
    register,
    snapshot,
    track_directly,
    track_gone_video,
)
from .helpers import frame as rows

pytestmark = pytest.mark.db


def test_tracked_videos_registers_found_and_rejects_unknown(engine, resources):
    good = normal_ids(3)
    ghost = nonexistent_id()
    result = register(engine, resources, [*good, ghost])
    metadata = result.asset_materializations_for_node("tracked_videos")[0].metadata
    assert metadata["registered"].value == 3
    assert metadata["rejected"].value == 1
    assert metadata["active"].value == 3
    assert metadata["source"].value == "simulator"
    assert metadata["added_last_24h"].value == 3
    assert all(v in metadata["recently_added"].value for v in good)

    videos = rows(engine, "SELECT * FROM ytmetrics.videos ORDER BY video_id")
    assert sorted(videos.video_id) == sorted(good)
    profile = CATALOG.profile(good[0])
    row = videos.set_index("video_id").loc[good[0]]
    assert row.channel_id == profile.channel_id
    assert row.published_at == profile.published_at
    assert row.source == "simulator"

    requests = rows(engine, "SELECT video_id, status, reason FROM ytmetrics.registration_requests")
    rejected = requests[requests.status == "rejected"]
    assert list(rejected.video_id) == [ghost]
    assert "did not return" in rejected.reason.iloc[0]
    assert (requests.status != "pending").all()


def test_snapshot_partition_holds_the_observation_of_every_active_video(engine, resources):
    ids = [*normal_ids(3), hidden_likes_id(), comments_off_id()]
    register(engine, resources, ids)
    at = DAY + timedelta(hours=10)
    result = snapshot(resources, at)
    metadata = result.asset_materializations_for_node("video_metric_snapshots")[0].metadata
    assert metadata["dagster/row_count"].value == 5
    assert metadata["api_calls"].value == 1
    assert metadata["missed"].value == 0
    assert metadata["source"].value == "simulator"

    observed = at + timedelta(minutes=5)
    stored = rows(engine, "SELECT * FROM ytmetrics.snapshots").set_index("video_id")
    for vid in ids:
        truth = CATALOG.profile(vid).statistics_at(observed)
        row = stored.loc[vid]
        assert row.view_count == truth.view_count
        assert row.snapshot_hour == at
        assert row.observed_at == observed
        assert row.source == "simulator"
    # first observations: no views gained yet (test_hour_metadata.py covers the gains)
    assert metadata["views_gained"].value == 0
    # hidden likes / disabled comments are stored as NULL, never 0
    assert pd.isna(stored.loc[ids[3]].like_count)
    assert pd.isna(stored.loc[ids[4]].comment_count)
    assert stored.loc[ids[0]].like_count > 0


def test_rerunning_a_partition_replaces_exactly_that_partition(engine, resources):
    register(engine, resources, normal_ids(4))
    h1, h2 = DAY + timedelta(hours=1), DAY + timedelta(hours=2)
    snapshot(resources, h1)
    snapshot(resources, h2)
    batches_sql = "SELECT snapshot_hour, run_id, kind FROM ytmetrics.snapshot_batches ORDER BY 1"
    before = rows(engine, "SELECT * FROM ytmetrics.snapshots ORDER BY video_id, snapshot_hour")
    batches_before = rows(engine, batches_sql)
    snapshot(resources, h2)
    last = snapshot(resources, h2)
    after = rows(engine, "SELECT * FROM ytmetrics.snapshots ORDER BY video_id, snapshot_hour")
    batches_after = rows(engine, batches_sql)
    assert len(after) == 8
    pd.testing.assert_frame_equal(before, after)
    # each hour has one batch: h1's untouched, h2's from the last run only
    assert list(batches_after.snapshot_hour) == [h1, h2]
    assert batches_after.run_id[0] == batches_before.run_id[0]
    assert batches_after.run_id[1] == last.run_id


def test_videos_missing_from_the_answer_are_counted_not_invented(engine, resources):
    keep = normal_ids(2)
    register(engine, resources, keep)
    gone = track_gone_video(engine, gone_before=DAY + timedelta(hours=5))
    result = snapshot(resources, DAY + timedelta(hours=6))
    metadata = result.asset_materializations_for_node("video_metric_snapshots")[0].metadata
    assert metadata["missed"].value == 1
    assert gone in metadata["missing_ids"].value
    stored = rows(engine, "SELECT video_id FROM ytmetrics.snapshots")
    assert sorted(stored.video_id) == sorted(keep)


def test_real_api_refuses_to_observe_a_closed_hour(engine, resources, simulator):
    register(engine, resources, normal_ids(2))
    real = dict(
        resources,
        youtube=YouTubeResource(
            source="youtube", api_key="test-key-not-shown", base_url=simulator.base_url
        ),
    )
    result = snapshot(real, DAY + timedelta(hours=3), raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("video_metric_snapshots")
    assert "reports only current statistics" in failure.error.message
    assert rows(engine, "SELECT count(*) AS n FROM ytmetrics.snapshots").n[0] == 0
    assert simulator.state.requests_by_method.get("videos", 0) == 1  # only the registration


def test_real_api_an_hour_without_observations_claims_no_source(engine, resources, simulator):
    """Real-API mode against the simulator (as the container deployment runs): an hour observed
    while nothing is tracked makes no call, so its batch carries only the configured source; the
    videos registered after it (answers labelled simulated) are not refused, and an empty hour
    labelled 'youtube' in a simulated warehouse is not refused either."""
    from ytmetrics_dagster.warehouse.snapshots import replace_snapshot_partition

    real = dict(
        resources,
        youtube=YouTubeResource(
            source="youtube", api_key="test-key-not-shown", base_url=simulator.base_url
        ),
    )
    now = current_hour()
    assert snapshot(real, now).success
    assert simulator.state.requests_by_method.get("videos", 0) == 0
    batch = rows(engine, "SELECT source, videos_written FROM ytmetrics.snapshot_batches")
    assert list(batch.itertuples(index=False, name=None)) == [("youtube", 0)]
    ids = normal_ids(2)
    register(engine, real, ids)
    videos = rows(engine, "SELECT video_id, source FROM ytmetrics.videos ORDER BY video_id")
    assert list(videos.itertuples(index=False, name=None)) == [
        (v, "simulator") for v in sorted(ids)
    ]
    written = replace_snapshot_partition(
        engine, now - timedelta(hours=1), [], observed_at=now, source="youtube"
    )
    assert written.rows == 0
    assert snapshot(real, now).success
    stored = rows(engine, "SELECT video_id, source FROM ytmetrics.snapshots")
    assert sorted(stored.video_id) == sorted(ids) and (stored.source == "simulator").all()


def test_real_api_observes_the_current_hour(engine, resources, simulator):
    register(engine, resources, normal_ids(2))
    real = dict(
        resources,
        youtube=YouTubeResource(
            source="youtube", api_key="test-key-not-shown", base_url=simulator.base_url
        ),
    )
    now = current_hour()
    result = snapshot(real, now)
    assert result.success
    stored = rows(engine, "SELECT * FROM ytmetrics.snapshots")
    assert len(stored) == 2
    assert (stored.snapshot_hour == now).all()
    assert (stored.observed_at >= now).all()
    # the data really came from the simulator, and is labelled so even with a key set
    assert (stored.source == "simulator").all()


def test_api_failure_writes_nothing_and_keeps_the_old_partition(engine, resources, simulator):
    register(engine, resources, normal_ids(60))  # two batches
    at = DAY + timedelta(hours=4)
    assert snapshot(resources, at).success
    before = rows(engine, "SELECT * FROM ytmetrics.snapshots ORDER BY video_id")
    simulator.state.script("videos", ["ok", "quotaExceeded"])
    result = snapshot(resources, at, raise_on_error=False)
    assert not result.success
    after = rows(engine, "SELECT * FROM ytmetrics.snapshots ORDER BY video_id")
    pd.testing.assert_frame_equal(before, after)


def test_growth_uses_the_previous_real_observation_across_gaps(engine, resources):
    ids = [*normal_ids(2), hidden_likes_id()]
    track_directly(engine, ids)
    hours = [DAY + timedelta(hours=h) for h in (9, 10, 11, 13)]  # 12:00 missed
    observe_directly(engine, hours)
    result = dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": hour_key(hours[0]),
            "dagster/asset_partition_range_end": hour_key(hours[-1]),
        },
    )
    assert result.success
    growth = rows(engine, "SELECT * FROM ytmetrics.growth_hourly ORDER BY video_id, snapshot_hour")
    assert len(growth) == 12
    for vid in ids:
        g = growth[growth.video_id == vid].set_index("snapshot_hour")
        first = g.loc[hours[0]]
        assert pd.isna(first.views_gained) and pd.isna(first.prev_observed_at)
        after_gap = g.loc[hours[3]]
        truth_prev = CATALOG.profile(vid).statistics_at(hours[2] + timedelta(minutes=5))
        truth_now = CATALOG.profile(vid).statistics_at(hours[3] + timedelta(minutes=5))
        assert after_gap.hours_elapsed == pytest.approx(2.0)
        assert after_gap.views_gained == truth_now.view_count - truth_prev.view_count
        assert after_gap.views_per_hour == pytest.approx(
            (truth_now.view_count - truth_prev.view_count) / 2.0
        )
    hidden = growth[growth.video_id == ids[2]]
    assert hidden.likes_gained.isna().all() and hidden.like_count.isna().all()

    # a single hour re-computed alone gives the same row as the range did
    dg.materialize([video_growth_hourly], partition_key=hour_key(hours[3]), resources=resources)
    again = rows(engine, "SELECT * FROM ytmetrics.growth_hourly ORDER BY video_id, snapshot_hour")
    pd.testing.assert_frame_equal(growth, again)


def test_daily_growth_from_the_hours_of_a_day(engine, resources):
    vid = normal_ids(1)[0]
    track_directly(engine, [vid])
    before_day = DAY - timedelta(hours=1)
    day_hours = [DAY + timedelta(hours=h) for h in (0, 6, 12, 23)]
    observe_directly(engine, [before_day, *day_hours])
    dg.materialize(
        [video_growth_hourly],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": hour_key(before_day),
            "dagster/asset_partition_range_end": hour_key(day_hours[-1]),
        },
    )
    result = dg.materialize(
        [video_growth_daily], partition_key=DAY.strftime("%Y-%m-%d"), resources=resources
    )
    assert result.success
    daily = rows(engine, "SELECT * FROM ytmetrics.video_growth_daily")
    assert len(daily) == 1
    row = daily.iloc[0]
    profile = CATALOG.profile(vid)
    start = profile.statistics_at(before_day + timedelta(minutes=5))
    end = profile.statistics_at(day_hours[-1] + timedelta(minutes=5))
    assert row.observations == 4
    assert row.views_start == start.view_count
    assert row.views_end == end.view_count
    assert row.views_gained == end.view_count - start.view_count
    assert row.views_growth_pct == pytest.approx(
        100.0 * (end.view_count - start.view_count) / start.view_count
    )
    assert row.likes_gained == end.like_count - start.like_count
    assert row.engagement_rate == pytest.approx(
        (end.like_count + end.comment_count) / end.view_count
    )
    # idempotent
    dg.materialize(
        [video_growth_daily], partition_key=DAY.strftime("%Y-%m-%d"), resources=resources
    )
    assert len(rows(engine, "SELECT * FROM ytmetrics.video_growth_daily")) == 1


def range_tags(first: datetime, last: datetime) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": hour_key(first),
        "dagster/asset_partition_range_end": hour_key(last),
    }


def test_a_snapshot_backfill_is_one_run_over_its_hours(engine, resources, simulator):
    ids = normal_ids(3)
    register(engine, resources, ids)
    first, last = DAY + timedelta(hours=14), DAY + timedelta(hours=19)
    result = dg.materialize(
        [video_metric_snapshots], resources=resources, tags=range_tags(first, last)
    )
    assert result.success
    events = result.asset_materializations_for_node("video_metric_snapshots")
    assert len(events) == 6
    # every partition shows its own figures, never the run's totals
    for event in events:
        hour = datetime.strptime(event.partition, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
        assert event.metadata["hours_in_run"].value == 6
        assert event.metadata["dagster/row_count"].value == 3
        assert event.metadata["api_calls"].value == 1
        # views gained in the hour (since the previous hour's observation), never totals
        assert event.metadata["views_gained"].value == (
            0
            if hour == first
            else sum(
                CATALOG.profile(v).statistics_at(hour + timedelta(minutes=5)).view_count
                - CATALOG.profile(v).statistics_at(hour - timedelta(minutes=55)).view_count
                for v in ids
            )
        )
    stored = rows(
        engine,
        "SELECT snapshot_hour, count(*) AS n FROM ytmetrics.snapshots GROUP BY 1 ORDER BY 1",
    )
    assert list(stored.n) == [3] * 6
    assert list(stored.snapshot_hour) == [first + timedelta(hours=h) for h in range(6)]


def test_real_api_refuses_a_backfill_before_spending_quota(engine, resources, simulator):
    register(engine, resources, normal_ids(2))
    calls_before = simulator.state.requests_by_method["videos"]
    real = dict(
        resources,
        youtube=YouTubeResource(
            source="youtube", api_key="test-key-not-shown", base_url=simulator.base_url
        ),
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    result = dg.materialize(
        [video_metric_snapshots],
        resources=real,
        tags=range_tags(now - timedelta(hours=2), now),
        raise_on_error=False,
    )
    assert not result.success
    assert simulator.state.requests_by_method["videos"] == calls_before
    assert rows(engine, "SELECT count(*) AS n FROM ytmetrics.snapshots").n[0] == 0


@pytest.mark.unit
def test_observation_time_rules():
    start = DAY + timedelta(hours=8)
    end = start + timedelta(hours=1)
    assert observation_time(start, end, start + timedelta(minutes=30), simulated=False) is None
    assert observation_time(
        start, end, end + timedelta(days=1), simulated=True
    ) == start + timedelta(minutes=5)
    with pytest.raises(dg.Failure, match="reports only current statistics"):
        observation_time(start, end, end, simulated=False)
    with pytest.raises(dg.Failure, match="has not started"):
        observation_time(start, end, start - timedelta(seconds=1), simulated=True)
