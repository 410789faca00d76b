"""Quota pacing (issue #19): the day's budget spread over its real hours, priority instead of
refusal, deferrals on record, batchGetStats paced and rate-limited."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from ytmetrics_dagster.domain.capacity import (
    CapacityCounts,
    CapacitySettings,
    default_units_by_hour,
    estimate_capacity,
)
from ytmetrics_dagster.domain.pacing import (
    allowance,
    interleave,
    quota_day_for,
    quota_day_of,
    run_out_hour,
    split_batches,
)
from ytmetrics_dagster.warehouse import pacing as pacing_store
from ytmetrics_dagster.warehouse.quota import Budget, reserve_paced
from ytmetrics_dagster.warehouse.videos import UnknownVideoError
from ytmetrics_dagster.youtube.ratelimit import SlidingWindowLimit

from .helpers import frame
from .quota_replay import (
    CADENCE,
    DAY_23H,
    DAY_24H,
    DAY_25H,
    insert_videos,
    make_id,
    replay_day,
)

pytestmark = pytest.mark.db


def scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


# -- the quota day and its allowance (pure) --------------------------------------------------


@pytest.mark.unit
def test_a_quota_day_lasts_its_real_pacific_hours():
    assert quota_day_for(DAY_23H).hours == 23
    assert quota_day_for(DAY_24H).hours == 24
    assert quota_day_for(DAY_25H).hours == 25
    day = quota_day_for(DAY_25H)
    # PDT midnight is 07:00 UTC, the next PST midnight 08:00 UTC a day later
    assert day.start == datetime(2026, 11, 1, 7, tzinfo=UTC)
    assert day.end == datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert quota_day_of(day.end - timedelta(seconds=1)).day == DAY_25H
    assert day.hour_index(day.end - timedelta(minutes=55)) == 24


@pytest.mark.unit
@pytest.mark.parametrize("day", [DAY_23H, DAY_24H, DAY_25H])
def test_an_hour_spends_its_share_plus_what_earlier_hours_left(day):
    qday = quota_day_for(day)
    hours = qday.hours
    first = allowance(2400, 0, 0, qday, qday.start, reserve=0)
    assert first.units == 2400 // hours
    # the first half of the day spent nothing: hour k may catch up on all of it
    k = hours // 2
    caught_up = allowance(2400, 0, 0, qday, qday.start + timedelta(hours=k), reserve=0)
    assert caught_up.units == 2400 * (k + 1) // hours
    # the last hour may spend all that is left but the reserve
    last = allowance(2400, 2000, 50, qday, qday.end - timedelta(minutes=30), reserve=1)
    assert last.units == 2400 - 2000 - 50 - 1
    # never more than is left
    assert allowance(2400, 2400, 0, qday, qday.end - timedelta(minutes=1), reserve=0).units == 0


@pytest.mark.unit
def test_a_large_spend_is_repaid_by_all_remaining_hours_not_the_next_alone():
    qday = quota_day_for(DAY_24H)
    at = qday.start + timedelta(hours=4)
    # hours 0-3 spent their 4 × 100, then the daily refresh took 380 at once
    paced = allowance(2400, 780, 0, qday, at, reserve=0)
    assert paced.straight_line == 500 - 780 < 0
    assert paced.units == (2400 - 780) // 20 == 81


@pytest.mark.unit
def test_batches_split_between_buckets_within_each_allowance():
    assert split_batches(10, default_units=8, batch_units=8) == (5, 5)
    assert split_batches(11, default_units=8, batch_units=8) == (6, 5)
    assert split_batches(10, default_units=8, batch_units=3) == (7, 3)
    assert split_batches(10, default_units=1, batch_units=8) == (1, 8)
    assert split_batches(10, default_units=2, batch_units=3) == (2, 3)  # 5 fit of 10
    assert interleave(2, 3, "v", "b") == ["b", "v", "b", "v", "b"]


@pytest.mark.unit
def test_run_out_hour_is_where_all_or_nothing_runs_would_start_being_refused():
    assert run_out_hour([2] * 24, 48) is None
    assert run_out_hour([2] * 25, 48) == 24  # the 25-hour day: its last hour is lost
    assert run_out_hour([3] * 24, 48) == 16


# -- a replayed quota day ---------------------------------------------------------------------

BUDGET = 48  # units a day; 100 hourly videos need exactly 48 on a 24-hour day


@pytest.mark.parametrize("day", [DAY_23H, DAY_24H, DAY_25H], ids=["23h", "24h", "25h"])
@pytest.mark.parametrize("multiple", [0.5, 1, 1.5, 3])
def test_a_paced_day_loses_no_hour_leaves_no_unit_and_never_overspends(engine, day, multiple):
    # 10 % young videos (first 48 h), the rest hourly; 100 videos per 1× on a 24-hour day
    young = round(10 * multiple)
    result = replay_day(
        engine, day, budget_units=BUDGET, young=young, hourly=round(100 * multiple) - young
    )
    assert result.day_hours == quota_day_for(day).hours
    # never over budget: the simulator refused nothing and the ledger agrees
    assert result.over_budget == 0
    spent = scalar(engine, "SELECT sum(units) FROM ytmetrics.api_calls")
    assert spent == result.spent <= BUDGET
    # a batch fits in every hour's share: no hour goes without an observation
    assert result.hours_without_observation == 0
    if result.deferred:
        # what is left at the reset is at most the reserve (one batch)
        assert result.unspent_while_deferred <= 1
        # each deferral is on record, per video and hour, with its reason
        recorded = frame(engine, "SELECT * FROM ytmetrics.deferred_observations")
        assert len(recorded) == result.deferred
        assert recorded.reason.str.contains("quota pacing").all()
        # the young videos come first: all of them observed every hour they fit
        assert result.young_coverage == 1.0
        assert not recorded.first_48h.any()
    else:
        assert result.observed == result.due
    if multiple == 0.5:
        assert result.deferred == 0
    if multiple >= 1.5:
        assert result.deferred > 0 and result.unspent == 1


def test_retries_eating_the_slack_cost_videos_not_hours(engine):
    # exactly 1×, and one retried call in each of 6 hours: 6 units the day does not have
    result = replay_day(
        engine,
        DAY_24H,
        budget_units=BUDGET,
        young=10,
        hourly=90,
        retries={3: 1, 4: 1, 5: 1, 6: 1, 20: 1, 21: 1},
    )
    assert result.hours_without_observation == 0
    assert result.over_budget == 0 and result.spent <= BUDGET
    assert result.deferred > 0 and result.unspent_while_deferred <= 1
    assert result.young_coverage == 1.0


def test_main_refused_whole_hours_on_the_same_day(engine):
    # "before": each run reserves everything or is refused; on a 25-hour day at 1×
    # (the 9,880 > 9,500 case), the last hour is lost for every video
    result = replay_day(engine, DAY_25H, budget_units=BUDGET, young=10, hourly=90, mode="refusal")
    assert result.hours_without_observation == 1
    assert result.young_coverage < 1.0


# -- the selection ------------------------------------------------------------------------------


def test_the_priority_order_is_pins_then_young_then_tier_then_longest_unobserved(engine):
    hour = datetime(2026, 6, 10, 12, tzinfo=UTC)  # the daily videos' anchor hour
    young = insert_videos(engine, hour - timedelta(hours=5), young=3, hourly=3, daily=3)
    assert len(young) == 3
    pinned = make_id("dly", 2)
    assert pacing_store.pin(engine, pinned) is True
    assert pacing_store.pin(engine, pinned, priority=5) is False  # updated
    # one hourly video was observed an hour ago, the others never: never observed come first
    from ytmetrics_dagster.warehouse.snapshots import replace_snapshot_partition
    from ytmetrics_dagster.youtube.models import VideoStatistics

    replace_snapshot_partition(
        engine,
        hour - timedelta(hours=1),
        [VideoStatistics(make_id("hrl", 0), 1, 1, 1)],
        observed_at=hour - timedelta(minutes=55),
        source="simulator",
    )
    ids, deferred = pacing_store.select_due(
        engine,
        hour,
        hour + timedelta(minutes=5),
        CADENCE.tiers_json(),
        CADENCE.anchor_hour,
        limit=6,
        reason="quota pacing: test",
        run_id="r",
        now=hour,
    )
    assert ids == [
        pinned,
        *sorted(young),
        make_id("hrl", 1),
        make_id("hrl", 2),
    ]
    assert deferred == 3
    rows = frame(
        engine,
        "SELECT v.video_id, d.priority_rank, d.every_hours, d.first_48h "
        "FROM ytmetrics.deferred_observations d JOIN ytmetrics.videos v USING (video_key) "
        "ORDER BY d.priority_rank",
    )
    assert list(rows.video_id) == [make_id("hrl", 0), make_id("dly", 0), make_id("dly", 1)]
    assert list(rows.priority_rank) == [7, 8, 9]
    assert list(rows.every_hours) == [1, 24, 24]
    # per-hour counts for the analyst surfaces
    assert pacing_store.deferred_counts_by_hour(engine, hour, hour + timedelta(hours=1)) == {
        hour: 3
    }
    assert pacing_store.deferred_by_tier(engine, hour, hour + timedelta(hours=1)) == {
        "every_1h": 1,
        "every_24h": 2,
    }
    # re-running the hour replaces its deferrals
    pacing_store.select_due(
        engine,
        hour,
        hour + timedelta(minutes=5),
        CADENCE.tiers_json(),
        CADENCE.anchor_hour,
        limit=100,
        reason="quota pacing: test",
        run_id="r2",
        now=hour,
    )
    assert pacing_store.deferred_counts_by_hour(engine, hour, hour + timedelta(hours=1)) == {}
    assert pacing_store.unpin(engine, pinned) is True
    assert pacing_store.unpin(engine, pinned) is False
    with pytest.raises(UnknownVideoError):
        pacing_store.pin(engine, "zzzzzzzzzzz")


def test_two_paced_runs_at_once_never_reserve_more_than_is_left(engine):
    budget = Budget(daily_units=48, discovery_reserve_units=0)
    qday = quota_day_for(DAY_24H)
    now = qday.end - timedelta(minutes=30)  # the last hour: all that is left is allowed
    barrier = threading.Barrier(2)
    granted: list[int] = []

    def claim(name: str) -> None:
        barrier.wait()
        reservation, paced = reserve_paced(
            engine, budget, 40, now, purpose=name, run_id=name, reserve_units=1
        )
        granted.append(min(40, paced.units) if reservation else 0)

    threads = [threading.Thread(target=claim, args=(f"run-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(granted) == [7, 40]  # 47 of 48: the reserve stays
    assert scalar(engine, "SELECT sum(units) FROM ytmetrics.quota_reservations") == 47


# -- batchGetStats ------------------------------------------------------------------------------


@pytest.mark.unit
def test_the_batch_get_stats_rate_limit_waits_out_its_window():
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> bool:
        slept.append(seconds)
        clock[0] += seconds
        return False

    limit = SlidingWindowLimit(3, 60.0, clock=lambda: clock[0])
    for _ in range(3):
        limit.acquire(sleep)
    assert slept == []
    clock[0] = 10.0
    limit.acquire(sleep)  # the 4th call in the minute waits until the first is 60 s old
    assert slept == [50.0] and clock[0] == 60.0
    # a stopped fetch gives up waiting
    blocked = SlidingWindowLimit(1, 60.0, clock=lambda: 0.0)
    blocked.acquire(lambda s: True)
    with pytest.raises(InterruptedError):
        blocked.acquire(lambda s: True)


@pytest.mark.unit
def test_capacity_states_the_batch_get_stats_multiplier():
    settings = CapacitySettings(channel_poll_seconds=300)
    alone = estimate_capacity(CapacityCounts({1: 0}), settings).more_hourly_videos_fit
    paired = estimate_capacity(
        CapacityCounts({1: 0}), CapacitySettings(use_batch_get_stats=True)
    ).more_hourly_videos_fit
    assert alone == 19_000
    # half the batches on each bucket, the daily refresh on videos.list only:
    # 24 × ⌈c/2⌉ + c ≤ 9,500 → c = 730 batches an hour, 36,500 videos: 1.92×, not 2×
    assert paired == 36_500
    assert round(paired / alone, 2) == 1.92


@pytest.mark.unit
def test_hourly_runs_of_a_day_without_pacing_run_out_at_the_stated_hour():
    counts = CapacityCounts({1: 19_000})
    plain = estimate_capacity(counts, CapacitySettings())
    assert plain.needed_units == 24 * 380 + 380 == plain.budget_units
    long_day = CapacitySettings(day_hours=25)
    capacity = estimate_capacity(counts, long_day)
    assert capacity.needed_units == 9_880  # the figure for the autumn day
    assert capacity.over_budget
    per_hour = default_units_by_hour(counts, long_day)
    assert len(per_hour) == 25 and per_hour[0] == 380 + 16  # + 380/25 of the refresh, rounded up
    assert run_out_hour(per_hour, capacity.budget_units) == 23


# -- the hourly run, for real: the simulator over HTTP, a real materialization -------------------


def _two_units_budget(now: datetime) -> int:
    """A daily budget whose allowance for the hour holding ``now`` is exactly 2 units (see
    pacing.allowance: the straight line reaches 2 units, and all but 1 unit of the day is
    reservable)."""
    qday = quota_day_of(now)
    k = qday.hour_index(now)
    return max(3, -(-2 * qday.hours // (k + 1)))


def test_the_hourly_run_observes_what_fits_in_priority_order_and_defers_the_rest(
    engine, resources, simulator, capsys
):
    import json

    import dagster as dg

    from ytmetrics_dagster.defs.resources import YouTubeResource
    from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
    from ytmetrics_dagster.surfaces.cli import main

    from .helpers import current_hour, normal_ids, track_directly

    ids = normal_ids(120)  # 3 batches due; the hour may spend 2
    track_directly(engine, ids)
    hour = current_hour()
    last = sorted(ids)[-1]  # never observed, same tier: the id decides, so it would be deferred
    assert main(["pin", last]) == 0
    assert "pinned" in capsys.readouterr().out
    tight = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator",
            base_url=simulator.base_url,
            daily_quota_units=_two_units_budget(hour),
            discovery_reserve_units=0,
        ),
    )
    before = simulator.state.requests_by_method.get("videos", 0)
    result = dg.materialize(
        [video_metric_snapshots], partition_key=hour.strftime("%Y-%m-%d-%H:%M"), resources=tight
    )
    assert result.success  # priority, not refusal
    assert simulator.state.requests_by_method.get("videos", 0) - before == 2
    observed = frame(engine, "SELECT video_id FROM ytmetrics.snapshots")
    assert len(observed) == 100 and last in set(observed.video_id)
    deferred = frame(
        engine,
        "SELECT v.video_id, d.reason, d.run_id FROM ytmetrics.deferred_observations d "
        "JOIN ytmetrics.videos v USING (video_key)",
    )
    assert len(deferred) == 20
    assert set(deferred.video_id) == set(ids) - set(observed.video_id)
    assert (deferred.run_id == result.run_id).all()
    assert "allowance was 2 units (100 videos) for 120 due videos" in deferred.reason[0]
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.missed_hours") == 0
    # the quota day's figures are an observation of the quota ledger (api_calls), not of the hour
    (quota_day,) = [
        o
        for o in result.asset_observations_for_node("video_metric_snapshots")
        if o.asset_key == dg.AssetKey("api_calls")
    ]
    assert quota_day.metadata["deferred_today"].value == 20
    assert quota_day.metadata["deferred_every_1h"].value == 20
    # the reservation was released with the run
    open_held = scalar(
        engine, "SELECT count(*) FROM ytmetrics.quota_reservations WHERE released_at IS NULL"
    )
    assert open_held == 0

    assert main(["quota", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["deferred_today"] == {"total": 20, "by_tier": {"every_1h": 20}}
    assert status["ledger"]["units_by_method"]["default:videos"] == 2
    assert status["day_hours"] in (23, 24, 25)
    assert main(["quota"]) == 0
    text_out = capsys.readouterr().out
    assert "deferred today: 20 (every_1h 20)" in text_out and "forecast" in text_out
    assert main(["unpin", last]) == 0
    assert main(["unpin", last]) == 0
    assert "was not pinned" in capsys.readouterr().out
    assert main(["pin", "not a video!"]) == 2


def test_an_hour_with_no_unit_left_is_a_missed_hour_not_deferrals(engine, resources, simulator):
    import dagster as dg

    from ytmetrics_dagster.defs.resources import YouTubeResource
    from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

    from .helpers import current_hour, normal_ids, spend_units, track_directly

    track_directly(engine, normal_ids(60))
    hour = current_hour()
    spend_units(engine, 10, hour)
    spent_out = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator",
            base_url=simulator.base_url,
            daily_quota_units=10,  # nothing left
            discovery_reserve_units=0,
        ),
    )
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=hour.strftime("%Y-%m-%d-%H:%M"),
        resources=spent_out,
        raise_on_error=False,
    )
    assert not result.success
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.missed_hours") == 1
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.deferred_observations") == 0
    message = result.failure_data_for_node("video_metric_snapshots").error.message
    assert "no unit of today's budget is left" in message
    # with one unit left (the reserve), the hour is not lost whole: it gets one batch
    spent_out["youtube"] = YouTubeResource(
        source="simulator",
        base_url=simulator.base_url,
        daily_quota_units=11,  # 1 left: the reserve
        discovery_reserve_units=0,
    )
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=hour.strftime("%Y-%m-%d-%H:%M"),
        resources=spent_out,
        raise_on_error=False,
    )
    assert result.success
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.missed_hours") == 0
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.snapshots") == 50
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.deferred_observations") == 10


def test_the_client_keeps_batch_get_stats_under_its_per_minute_limit(simulator):
    import time

    from ytmetrics_dagster.youtube.client import (
        BATCH_GET_STATS,
        DeadlineExceededError,
        YouTubeClient,
    )

    from .helpers import normal_ids

    ids = normal_ids(200)  # 4 batches, all on batchGetStats, 2 allowed per 0.4 s
    client = YouTubeClient(
        simulator.base_url, max_workers=4, batch_stats_limit=SlidingWindowLimit(2, 0.4)
    )
    started = time.monotonic()
    with client:
        fetched = client.video_statistics(ids, methods=[BATCH_GET_STATS] * 4)
    assert len(fetched.items) == 200
    assert time.monotonic() - started >= 0.4  # the 3rd and 4th calls waited for the window
    assert simulator.state.requests_by_method["videos:batchGetStats"] == 4
    # a wait that would pass the deadline is not waited: nothing more is sent
    slow = YouTubeClient(
        simulator.base_url,
        max_workers=1,
        batch_stats_limit=SlidingWindowLimit(1, 60.0),
        deadline=time.monotonic() + 5,
    )
    with slow, pytest.raises(DeadlineExceededError, match="per-minute limit"):
        slow.video_statistics(ids[:100], methods=[BATCH_GET_STATS] * 2)
    assert simulator.state.requests_by_method["videos:batchGetStats"] == 5


def test_the_paced_hour_budgets_batch_get_stats_as_its_own_bucket(engine, resources, simulator):
    import dagster as dg

    from ytmetrics_dagster.defs.resources import YouTubeResource
    from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

    from .helpers import current_hour, normal_ids, track_directly

    ids = normal_ids(250)  # 5 batches; videos.list may pay for 2, batchGetStats for 2
    track_directly(engine, ids)
    hour = current_hour()
    budget = _two_units_budget(hour)
    both = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator",
            base_url=simulator.base_url,
            daily_quota_units=budget,
            discovery_reserve_units=0,
            use_batch_get_stats=True,
            batch_stats_daily_units=budget,
        ),
    )
    before = dict(simulator.state.requests_by_method)
    result = dg.materialize(
        [video_metric_snapshots], partition_key=hour.strftime("%Y-%m-%d-%H:%M"), resources=both
    )
    assert result.success
    sent = {
        m: n - before.get(m, 0)
        for m, n in simulator.state.requests_by_method.items()
        if n - before.get(m, 0)
    }
    assert sent == {"videos": 2, "videos:batchGetStats": 2}
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.snapshots") == 200
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.deferred_observations") == 50
    reserved = frame(
        engine, "SELECT bucket, units FROM ytmetrics.quota_reservations ORDER BY bucket"
    )
    assert dict(zip(reserved.bucket, reserved.units, strict=True)) == {
        "batchGetStats": 2,
        "default": 2,
    }


def test_a_paced_hour_that_fails_is_missed_whole_and_keeps_no_deferrals(
    engine, resources, simulator
):
    import dagster as dg

    from ytmetrics_dagster.defs.resources import YouTubeResource
    from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

    from .helpers import current_hour, normal_ids, track_directly

    track_directly(engine, normal_ids(120))
    hour = current_hour()
    simulator.state.quota_limit = simulator.state.units_used_today()  # YouTube says no
    tight = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator",
            base_url=simulator.base_url,
            daily_quota_units=_two_units_budget(hour),
            discovery_reserve_units=0,
        ),
    )
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=hour.strftime("%Y-%m-%d-%H:%M"),
        resources=tight,
        raise_on_error=False,
    )
    assert not result.success
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.missed_hours") == 1
    assert scalar(engine, "SELECT count(*) FROM ytmetrics.deferred_observations") == 0
    assert (
        scalar(
            engine, "SELECT count(*) FROM ytmetrics.quota_reservations WHERE released_at IS NULL"
        )
        == 0
    )
