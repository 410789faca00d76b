"""Every asset check can fail: for each, a run that makes it fail and one that makes it pass,
with real materializations against the embedded Postgres and the simulator."""

import contextlib
from datetime import datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.defs.snapshots.checks import (
    due_videos_observed,
    growth_matches_snapshots,
    no_missing_hours_24h,
    observed_within_their_hour,
    one_source_per_video,
)
from ytmetrics_dagster.warehouse import gaps, quality
from ytmetrics_dagster.warehouse.snapshots import (
    add_new_video_observations,
    replace_snapshot_partition,
)
from ytmetrics_dagster.warehouse.videos import apply_registrations
from ytmetrics_dagster.youtube.models import VideoDetails

from .helpers import CATALOG, DAY, current_hour, hour_range, normal_ids, register
from .helpers import HOUR_KEY as KEY

pytestmark = pytest.mark.db


def register_as_real(engine, ids):
    """Videos registered by a deployment that reads the real API (source 'youtube')."""
    details = []
    for vid in ids:
        p = CATALOG.profile(vid)
        details.append(
            VideoDetails(vid, p.title, p.channel_id, p.channel_title, p.published_at, 60)
        )
    apply_registrations(engine, [], details, source="youtube", now=DAY)


@contextlib.contextmanager
def without_source_guard():
    """Let the writers mix sources (as data from before the guard, or restored, would be)."""
    import ytmetrics_dagster.warehouse.snapshots as snapshots_module
    import ytmetrics_dagster.warehouse.videos as videos_module

    saved = snapshots_module.refuse_if_mixed, videos_module.assert_source_allowed
    # the snapshot writer asks in the query that stages its observations, then refuses
    snapshots_module.refuse_if_mixed = lambda source, other_held: None
    videos_module.assert_source_allowed = lambda conn, source: None
    try:
        yield
    finally:
        snapshots_module.refuse_if_mixed, videos_module.assert_source_allowed = saved


def truth(ids, at):
    return [CATALOG.profile(v).statistics_at(at) for v in ids]


def checks_of(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def run_check_alone(assets_def, check, resources, last_hour: datetime, hours: int):
    """The check on its own (as "Execute" in the UI does), over the given hours."""
    (key,) = check.check_keys
    op = f"{key.asset_key.to_user_string()}_{key.name}"
    return dg.materialize(
        [assets_def, check],
        selection=dg.AssetSelection.checks(check),
        resources=resources,
        run_config={"ops": {op: {"config": {"hours": hours, "last_hour": f"{last_hour:{KEY}}"}}}},
        raise_on_error=False,
    )


def gone_ids(n: int, before: datetime) -> list[str]:
    """Simulated videos published before the test window that are gone by ``before``."""
    found = CATALOG.find_ids(
        lambda p: (
            p.exists
            and p.gone_at is not None
            and p.published_at < DAY - timedelta(days=2)
            and DAY - timedelta(days=20) < p.gone_at < before
        ),
        prefix="gonecheck",
        limit=n,
    )
    assert len(found) == n
    return found


def track_gone(engine, ids):
    details = []
    for vid in ids:
        p = CATALOG.profile(vid)
        details.append(
            VideoDetails(vid, p.title, p.channel_id, p.channel_title, p.published_at, 60)
        )
    apply_registrations(engine, [], details, source="simulator", now=DAY - timedelta(days=30))


# --- coverage ------------------------------------------------------------------------------


@pytest.mark.unit
def test_allowed_missing_threshold():
    assert quality.allowed_missing(0) == 2
    assert quality.allowed_missing(10) == 2
    assert quality.allowed_missing(29) == 2
    assert quality.allowed_missing(30) == 3
    assert quality.allowed_missing(1000) == 100


def test_coverage_passes_when_a_few_due_videos_are_missing(engine, resources):
    hour = DAY + timedelta(hours=6)
    register(engine, resources, normal_ids(3))
    track_gone(engine, gone_ids(1, hour))
    result = dg.materialize(
        [video_metric_snapshots, due_videos_observed],
        partition_key=f"{hour:{KEY}}",
        resources=resources,
    )
    check = checks_of(result)["due_videos_observed"]
    assert check.passed
    assert check.metadata["videos_due"].value == 4
    assert check.metadata["videos_observed"].value == 3
    assert check.metadata["coverage"].value == pytest.approx(0.75)


def test_coverage_fails_and_blocks_growth_when_many_due_videos_are_missing(engine, resources):
    hour = DAY + timedelta(hours=6)
    register(engine, resources, normal_ids(2))
    track_gone(engine, gone_ids(3, hour))
    result = dg.materialize(
        [video_metric_snapshots, due_videos_observed, video_growth_hourly],
        partition_key=f"{hour:{KEY}}",
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success
    check = checks_of(result)["due_videos_observed"]
    assert not check.passed
    assert check.metadata["videos_due"].value == 5
    assert check.metadata["videos_observed"].value == 2
    assert check.metadata["failed_hours"].value == f"{hour:%Y-%m-%d %H:00}"
    # blocking: the hour's growth was not computed
    assert not result.asset_materializations_for_node("video_growth_hourly")


# --- observed within their hour ------------------------------------------------------------


def test_real_observations_taken_after_their_hour_fail_the_check(engine, resources):
    ids = normal_ids(2)
    register_as_real(engine, ids)
    hour = DAY + timedelta(hours=8)
    late = hour + timedelta(minutes=61)  # the run overran the hour
    replace_snapshot_partition(
        engine, hour, truth(ids, late), observed_at=late, source="youtube", videos_due=2
    )
    result = run_check_alone(video_metric_snapshots, observed_within_their_hour, resources, hour, 1)
    check = checks_of(result)["observed_within_their_hour"]
    assert not check.passed
    assert check.metadata["observed_after_their_hour"].value == 2
    assert check.metadata["max_seconds_after_hour_start"].value == 61 * 60


def test_real_observations_inside_their_hour_pass_the_check(engine, resources):
    ids = normal_ids(2)
    register_as_real(engine, ids)
    hour = DAY + timedelta(hours=8)
    on_time = hour + timedelta(minutes=59)
    replace_snapshot_partition(
        engine, hour, truth(ids, on_time), observed_at=on_time, source="youtube", videos_due=2
    )
    result = run_check_alone(video_metric_snapshots, observed_within_their_hour, resources, hour, 1)
    check = checks_of(result)["observed_within_their_hour"]
    assert check.passed
    assert check.metadata["youtube_observations"].value == 2


def test_simulated_hours_pass_the_observation_time_check(engine, resources):
    register(engine, resources, normal_ids(2))
    hour = DAY + timedelta(hours=3)
    result = dg.materialize(
        [video_metric_snapshots, observed_within_their_hour],
        partition_key=f"{hour:{KEY}}",
        resources=resources,
    )
    check = checks_of(result)["observed_within_their_hour"]
    assert check.passed and check.metadata["youtube_observations"].value == 0


# --- one source per video -----------------------------------------------------------------


def test_real_observations_of_simulated_videos_fail_the_source_check(engine, resources):
    """A deployment switched to a real key on a warehouse of simulated data."""
    ids = normal_ids(3)
    register(engine, resources, ids)
    h1, h2 = DAY + timedelta(hours=1), DAY + timedelta(hours=2)
    assert dg.materialize(
        [video_metric_snapshots], partition_key=f"{h1:{KEY}}", resources=resources
    ).success
    observed = h2 + timedelta(minutes=5)
    # the writers refuse to mix sources: mixed data is what the check finds where it came from
    # elsewhere (written before the guard, restored from another warehouse)
    with without_source_guard():
        replace_snapshot_partition(
            engine, h2, truth(ids, observed), observed_at=observed, source="youtube", videos_due=3
        )
    result = run_check_alone(video_metric_snapshots, one_source_per_video, resources, h2, 2)
    check = checks_of(result)["one_source_per_video"]
    assert not check.passed
    assert check.metadata["videos_with_another_source"].value == 3
    assert check.metadata["hours_with_two_sources"].value == 0


def test_an_hour_mixing_sources_fails_the_source_check(engine, resources):
    ids = normal_ids(3)
    register(engine, resources, ids[:2])
    hour = DAY + timedelta(hours=1)
    assert dg.materialize(
        [video_metric_snapshots], partition_key=f"{hour:{KEY}}", resources=resources
    ).success
    observed = hour + timedelta(minutes=20)
    with without_source_guard():
        register_as_real(engine, ids[2:])
        add_new_video_observations(
            engine, hour, truth(ids[2:], observed), observed_at=observed, source="youtube"
        )
    result = run_check_alone(video_metric_snapshots, one_source_per_video, resources, hour, 1)
    check = checks_of(result)["one_source_per_video"]
    assert not check.passed
    assert check.metadata["hours_with_two_sources"].value == 1


def test_one_source_passes_for_a_simulated_deployment(engine, resources):
    register(engine, resources, normal_ids(3))
    result = dg.materialize(
        [video_metric_snapshots, one_source_per_video],
        resources=resources,
        tags=hour_range(DAY, DAY + timedelta(hours=2)),
    )
    check = checks_of(result)["one_source_per_video"]
    assert check.passed and check.metadata["window"].value.startswith("2026-11-20 00:00")


# --- missing hours -------------------------------------------------------------------------


def _started_tracking(engine, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE ytmetrics.videos SET added_at = :at"), {"at": at})


def test_a_fresh_deployment_does_not_warn_about_hours_before_tracking_began(engine, resources):
    register(engine, resources, normal_ids(1))  # tracking began a moment ago
    now = current_hour()
    result = dg.materialize(
        [video_metric_snapshots, no_missing_hours_24h],
        partition_key=f"{now:{KEY}}",
        resources=resources,
    )
    check = checks_of(result)["no_missing_hours_24h"]
    assert check.passed
    assert check.metadata["hours_checked"].value == 0
    assert check.metadata["missing_hours"].value == 0


def test_hours_since_tracking_began_must_be_observed(engine, resources):
    register(engine, resources, normal_ids(1))
    now = current_hour()
    # tracking began 20 minutes into the hour three hours ago: that hour and the two after it
    # should have been observed, none of the 21 hours before it
    _started_tracking(engine, now - timedelta(hours=3) + timedelta(minutes=20))
    gaps.record_missed_hour(engine, now - timedelta(hours=2), "quota exhausted", "run-x", 1)
    result = dg.materialize(
        [video_metric_snapshots, no_missing_hours_24h],
        partition_key=f"{now:{KEY}}",
        resources=resources,
    )
    check = checks_of(result)["no_missing_hours_24h"]
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["hours_checked"].value == 3
    assert check.metadata["missing_hours"].value == 3
    assert "quota exhausted" in check.metadata["reasons"].value

    # the simulator can observe closed hours: backfill them, and the warning clears
    result = dg.materialize(
        [video_metric_snapshots, no_missing_hours_24h],
        resources=resources,
        tags=hour_range(now - timedelta(hours=3), now - timedelta(hours=1)),
    )
    check = checks_of(result)["no_missing_hours_24h"]
    assert check.passed and check.metadata["hours_checked"].value == 3


def test_the_hour_tracking_began_counts_if_its_new_videos_were_observed(engine, resources):
    register(engine, resources, normal_ids(2))
    now = current_hour()
    first = now - timedelta(hours=2)
    # registered 20 minutes into that hour and observed at once (a new-videos batch); the
    # scheduled run of the hour had already passed
    _started_tracking(engine, first + timedelta(minutes=20))
    add_new_video_observations(
        engine,
        first,
        truth(normal_ids(2), first + timedelta(minutes=25)),
        observed_at=first + timedelta(minutes=25),
        source="simulator",
    )
    result = dg.materialize(
        [video_metric_snapshots, no_missing_hours_24h],
        partition_key=f"{now:{KEY}}",
        resources=resources,
    )
    check = checks_of(result)["no_missing_hours_24h"]
    assert check.metadata["hours_checked"].value == 2
    # the first hour was observed (all there was); the next one was not
    assert check.metadata["missing_hours"].value == 1
    assert f"{now - timedelta(hours=1):%Y-%m-%d %H:00}" in check.metadata["missing"].value


# --- growth matches the snapshots ----------------------------------------------------------


def test_growth_check_fails_on_stale_growth_and_passes_once_recomputed(engine, resources):
    ids = normal_ids(3)
    register(engine, resources, ids[:2])
    hours = [DAY + timedelta(hours=h) for h in (1, 2, 3)]
    # one run observes the three hours in turn (the rows of three runs, hour by hour)
    assert dg.materialize(
        [video_metric_snapshots], tags=hour_range(hours[0], hours[-1]), resources=resources
    ).success
    result = dg.materialize(
        [video_growth_hourly, growth_matches_snapshots],
        resources=resources,
        tags=hour_range(hours[0], hours[-1]),
    )
    check = checks_of(result)["growth_matches_snapshots"]
    assert check.passed
    assert check.metadata["expected_rows"].value == check.metadata["stored_rows"].value == 6

    # hour 2 is rewritten after its growth was computed: a video registered since is in it,
    # and YouTube corrected another video's count of hour 3 downward
    register(engine, resources, ids[2:])
    assert dg.materialize(
        [video_metric_snapshots], partition_key=f"{hours[1]:{KEY}}", resources=resources
    ).success
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ytmetrics.metric_snapshots s SET view_count = view_count - 10"
                " FROM ytmetrics.videos v WHERE v.video_key = s.video_key"
                " AND v.video_id = :v AND s.snapshot_hour = :h"
            ),
            {"v": ids[0], "h": hours[2]},
        )
    stale = run_check_alone(video_growth_hourly, growth_matches_snapshots, resources, hours[-1], 3)
    check = checks_of(stale)["growth_matches_snapshots"]
    assert not check.passed
    assert check.metadata["missing_rows"].value == 1  # the new video's observation
    assert check.metadata["rows_with_other_values"].value == 1  # the corrected count
    assert ids[2] in check.metadata["examples"].value

    # recomputing the growth of those hours repairs it
    result = dg.materialize(
        [video_growth_hourly, growth_matches_snapshots],
        resources=resources,
        tags=hour_range(hours[0], hours[-1]),
    )
    check = checks_of(result)["growth_matches_snapshots"]
    assert check.passed and check.metadata["stored_rows"].value == 7
    again = run_check_alone(video_growth_hourly, growth_matches_snapshots, resources, hours[-1], 3)
    assert checks_of(again)["growth_matches_snapshots"].passed


def test_growth_check_notices_rows_left_behind(engine, resources):
    vid = normal_ids(1)[0]
    register(engine, resources, [vid])
    hour = DAY + timedelta(hours=4)
    dg.materialize([video_metric_snapshots], partition_key=f"{hour:{KEY}}", resources=resources)
    dg.materialize([video_growth_hourly], partition_key=f"{hour:{KEY}}", resources=resources)
    with engine.begin() as conn:  # the hour's snapshots deleted behind the pipeline's back
        conn.execute(
            text("DELETE FROM ytmetrics.metric_snapshots WHERE snapshot_hour = :h"), {"h": hour}
        )
    result = run_check_alone(video_growth_hourly, growth_matches_snapshots, resources, hour, 1)
    check = checks_of(result)["growth_matches_snapshots"]
    assert not check.passed and check.metadata["rows_without_snapshot"].value == 1


def test_check_window_config_rejects_a_bad_hour(engine, resources):
    result = dg.materialize(
        [video_growth_hourly, growth_matches_snapshots],
        selection=dg.AssetSelection.checks(growth_matches_snapshots),
        resources=resources,
        run_config={
            "ops": {
                "video_growth_hourly_growth_matches_snapshots": {
                    "config": {"last_hour": "yesterday"}
                }
            }
        },
        raise_on_error=False,
    )
    assert not result.success
