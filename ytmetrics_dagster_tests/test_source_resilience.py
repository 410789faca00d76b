"""The collector against everything the API does: quota ledger and budget, the error taxonomy,
missing and returning videos, bounded concurrency. All over HTTP to the simulator."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.resources import YouTubeResource
from ytmetrics_dagster.warehouse.quota import next_reset, quota_day

from .helpers import (
    CATALOG,
    DAY,
    current_hour,
    normal_ids,
    register,
    snapshot,
    track_gone_video,
)

pytestmark = pytest.mark.db

SECRET = "AIzaSy-test-secret-key-0123456789"


def ledger(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(text("SELECT * FROM ytmetrics.api_calls ORDER BY call_id"), conn)


def snapshot_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM ytmetrics.snapshots")).scalar_one()


def with_key(resources, simulator, **kwargs):
    return dict(
        resources,
        youtube=YouTubeResource(
            source="youtube",
            api_key=SECRET,
            base_url=simulator.base_url,
            backoff_factor=0.01,
            **kwargs,
        ),
    )


@pytest.mark.unit
def test_quota_day_is_pacific():
    # 07:30 UTC on Nov 24 is still Nov 23 in California (PST, UTC-8)
    assert str(quota_day(datetime(2026, 11, 24, 7, 30, tzinfo=UTC))) == "2026-11-23"
    assert str(quota_day(datetime(2026, 11, 24, 8, 30, tzinfo=UTC))) == "2026-11-24"
    assert next_reset(datetime(2026, 11, 24, 7, 30, tzinfo=UTC)) == datetime(
        2026, 11, 24, 8, 0, tzinfo=UTC
    )
    # summer time: midnight PDT is 07:00 UTC
    assert next_reset(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(
        2026, 7, 2, 7, 0, tzinfo=UTC
    )


def test_every_call_is_in_the_ledger_retries_included(engine, resources, simulator):
    register(engine, resources, normal_ids(120))
    simulator.state.script("videos", ["503"])  # one retried attempt
    result = snapshot(resources, DAY + timedelta(hours=3))
    calls = ledger(engine)
    snap = calls[calls.run_id == result.run_id]
    # ceil(120 / 50) = 3 calls, one of which took two attempts: one row per attempt, each
    # charged, each settled with its answer
    assert len(snap) == 4 and snap.units.sum() == 4
    assert (snap.method == "videos").all()
    assert sorted(snap.http_status) == [200, 200, 200, 503]
    assert snap.settled_at.notna().all()
    assert snap.reservation_id.notna().all()  # spent under the run's reservation
    assert (snap.quota_day == quota_day(datetime.now(UTC))).all()
    # the quota day is observed on the quota ledger's asset, not on the hour's partition
    (quota,) = result.asset_observations_for_node("video_metric_snapshots")
    assert quota.asset_key == dg.AssetKey("api_calls")
    metadata = quota.metadata
    assert metadata["used"].value == calls.units.sum()
    # tests observe hourly: 3 batches × 24, the daily refresh (3) and today's registration (3
    # units of details, 3 for the new videos' first observation)
    assert metadata["needed"].value == 3 * 24 + 3 + 3 + 3
    assert metadata["budget"].value == 10_000 - 500
    # 25 units a day per 50 hourly videos: 379 batches fit in 9,500 − 6, i.e. 18,950 videos
    assert metadata["hourly_videos_fit"].value == 18_950 - 120


def test_budget_message_names_needed_left_and_reset(engine, resources, simulator):
    register(engine, resources, normal_ids(120))  # 3 units used today
    tight = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator",
            base_url=simulator.base_url,
            daily_quota_units=7,
            discovery_reserve_units=2,
        ),
    )
    calls_before = simulator.state.requests_by_method["videos"]
    result = snapshot(tight, DAY + timedelta(hours=4), raise_on_error=False)
    assert not result.success
    message = result.failure_data_for_node("video_metric_snapshots").error.message
    assert "needs 3 quota units but only 2 are left" in message
    assert "resets at" in message and "UTC" in message
    assert simulator.state.requests_by_method["videos"] == calls_before
    assert snapshot_rows(engine) == 0


def test_quota_exceeded_stops_at_once_without_retries(engine, resources, simulator):
    register(engine, resources, normal_ids(200))  # 4 batches
    simulator.state.quota_limit = simulator.state.units_used_today()  # exhausted
    calls_before = simulator.state.requests_by_method["videos"]
    result = snapshot(resources, DAY + timedelta(hours=5), raise_on_error=False)
    assert not result.success
    message = result.failure_data_for_node("video_metric_snapshots").error.message
    assert "quota exceeded" in message and "midnight Pacific" in message
    # no step retries, and queued batches were not sent after the first refusal
    assert not [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert simulator.state.requests_by_method["videos"] - calls_before <= 4
    assert snapshot_rows(engine) == 0
    assert set(ledger(engine).reason.dropna()) == {"quotaExceeded"}


def test_rate_limits_and_bad_bodies_are_retried_by_the_step_policy(engine, resources, simulator):
    register(engine, resources, normal_ids(3))
    simulator.state.script("videos", ["rateLimitExceeded", "truncated", "userRateLimitExceeded"])
    result = snapshot(resources, DAY + timedelta(hours=6))
    assert result.success
    restarts = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert len(restarts) == 3
    assert snapshot_rows(engine) == 3


def test_persistent_transient_errors_end_in_a_clear_failure(engine, resources, simulator):
    register(engine, resources, normal_ids(3))
    simulator.state.script("videos", ["rateLimitExceeded"] * 10)
    result = snapshot(resources, DAY + timedelta(hours=7), raise_on_error=False)
    assert not result.success
    error = result.failure_data_for_node("video_metric_snapshots").error
    assert "Exceeded max_retries of 5" in error.message
    assert error.cause.cls_name == "RateLimitedError"
    assert "rate limit" in error.cause.message
    assert snapshot_rows(engine) == 0


def test_key_and_access_errors_fail_fast_with_an_actionable_message(engine, resources, simulator):
    register(engine, resources, normal_ids(3))
    now = current_hour()
    for fault, words in (
        ("keyInvalid", "YOUTUBE_API_KEY"),
        ("accessNotConfigured", "enable the API"),
    ):
        simulator.state.script("videos", [fault])
        result = snapshot(with_key(resources, simulator), now, raise_on_error=False)
        assert not result.success
        assert words in result.failure_data_for_node("video_metric_snapshots").error.message
        assert not [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]


def test_the_api_key_appears_nowhere_in_the_event_log(engine, resources, simulator):
    register(engine, resources, normal_ids(60))
    keyed = with_key(resources, simulator)
    now = current_hour()
    with dg.instance_for_test() as instance:
        simulator.state.script(
            "videos", ["500", "502", "drop", "rateLimitExceeded", "ok", "keyInvalid"]
        )
        snapshot(keyed, now, instance=instance, raise_on_error=False)
        simulator.state.script("videos", ["accessNotConfigured"])
        snapshot(keyed, now, instance=instance, raise_on_error=False)
        assert snapshot(keyed, now, instance=instance).success
        dump = "\n".join(
            str(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id)
        )
        assert (
            "API_KEY_INVALID" in dump and "accessNotConfigured" in dump
        )  # the failures were logged
        assert SECRET not in dump
        assert SECRET[-12:] not in dump


def test_videos_missing_three_hours_become_unavailable_and_come_back(engine, resources, simulator):
    keep = normal_ids(2)
    register(engine, resources, keep)
    gone = track_gone_video(engine, gone_before=DAY)

    def status() -> tuple[str, int]:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT status, consecutive_misses FROM ytmetrics.videos WHERE video_id = :v"),
                {"v": gone},
            ).one()
            return row.status, row.consecutive_misses

    snapshot(resources, DAY + timedelta(hours=1))
    snapshot(resources, DAY + timedelta(hours=1))  # the same hour again does not count twice
    assert status() == ("active", 1)
    snapshot(resources, DAY + timedelta(hours=2))
    result = snapshot(resources, DAY + timedelta(hours=3))
    assert status() == ("unavailable", 3)
    assert (
        result.asset_materializations_for_node("video_metric_snapshots")[0]
        .metadata["newly_unavailable"]
        .value
        == 1
    )

    # it stops costing quota: the next hour asks only for the two others
    calls = simulator.state.requests_by_method["videos"]
    snapshot(resources, DAY + timedelta(hours=4))
    assert simulator.state.requests_by_method["videos"] == calls + 1
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM ytmetrics.snapshots WHERE snapshot_hour = :h"),
                {"h": DAY + timedelta(hours=4)},
            ).scalar_one()
            == 2
        )

    # the daily re-check (tracked_videos with refresh) does not find it: it stays unavailable
    refreshed = dg.materialize([tracked_videos], resources=resources)
    assert (
        refreshed.asset_materializations_for_node("tracked_videos")[0].metadata["unavailable"].value
        == 1
    )


def test_an_unavailable_video_that_reappears_is_reactivated(engine, resources, simulator):
    vid = normal_ids(1)[0]
    register(engine, resources, [vid])
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ytmetrics.videos SET status = 'unavailable', unavailable_since = now(), consecutive_misses = 3"
            )
        )
    result = dg.materialize([tracked_videos], resources=resources)
    metadata = result.asset_materializations_for_node("tracked_videos")[0].metadata
    assert metadata["returned_from_unavailable"].value == 1
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, consecutive_misses, unavailable_since FROM ytmetrics.videos")
        ).one()
    assert (row.status, row.consecutive_misses, row.unavailable_since) == ("active", 0, None)


def test_batches_are_fetched_concurrently_within_the_bound(engine, resources, simulator):
    register(engine, resources, normal_ids(500))  # 10 batches
    simulator.state.latency_seconds = 0.2
    bounded = dict(
        resources,
        youtube=YouTubeResource(source="simulator", base_url=simulator.base_url, max_workers=4),
    )
    simulator.state.max_in_flight = 0
    assert snapshot(bounded, DAY + timedelta(hours=8)).success
    assert 2 <= simulator.state.max_in_flight <= 4


def test_batch_get_stats_alternates_buckets_and_doubles_capacity(engine, resources, simulator):
    ids = normal_ids(120)
    register(engine, resources, ids)
    both = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator", base_url=simulator.base_url, use_batch_get_stats=True
        ),
    )
    before = dict(simulator.state.requests_by_method)
    result = snapshot(both, DAY + timedelta(hours=9))
    assert result.success
    sent = {
        m: simulator.state.requests_by_method.get(m, 0) - before.get(m, 0)
        for m in simulator.state.requests_by_method
    }
    assert sent == {"videos": 2, "videos:batchGetStats": 1}
    assert snapshot_rows(engine) == 120
    calls = ledger(engine)
    snap = calls[calls.run_id == result.run_id]
    assert snap.groupby("bucket").units.sum().to_dict() == {"default": 2, "batchGetStats": 1}
    (quota,) = result.asset_observations_for_node("video_metric_snapshots")
    assert quota.metadata["batch_stats_used"].value == 1

    # the same observation either way
    with engine.connect() as conn:
        stored = dict(
            conn.execute(text("SELECT video_id, view_count FROM ytmetrics.snapshots")).all()
        )
    assert stored == {
        v: CATALOG.profile(v).statistics_at(DAY + timedelta(hours=9, minutes=5)).view_count
        for v in ids
    }


def test_batch_get_stats_bucket_is_budgeted_on_its_own(engine, resources, simulator):
    register(engine, resources, normal_ids(120))
    tight = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator",
            base_url=simulator.base_url,
            use_batch_get_stats=True,
            batch_stats_daily_units=0,
        ),
    )
    calls_before = simulator.state.requests_by_method["videos"]
    result = snapshot(tight, DAY + timedelta(hours=10), raise_on_error=False)
    assert not result.success
    assert (
        "batchGetStats bucket"
        in result.failure_data_for_node("video_metric_snapshots").error.message
    )
    assert simulator.state.requests_by_method["videos"] == calls_before
    # and the simulator keeps the two quotas apart: videos.list exhausted, batchGetStats fine
    simulator.state.quota_limit = simulator.state.units_used_today()
    both = dict(
        resources,
        youtube=YouTubeResource(
            source="simulator", base_url=simulator.base_url, use_batch_get_stats=True
        ),
    )
    failed = snapshot(both, DAY + timedelta(hours=11), raise_on_error=False)
    assert "quota exceeded" in failed.failure_data_for_node("video_metric_snapshots").error.message
    assert simulator.state.requests_by_method.get("videos:batchGetStats", 0) >= 0
