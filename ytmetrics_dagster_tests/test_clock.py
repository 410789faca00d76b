"""Time is injected (ClockResource): the snapshot asset and the checks read "now" from it, so a
test stands where it needs to in an hour instead of waiting for the clock."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.resources import ClockResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.defs.snapshots.checks import due_videos_observed, no_missing_hours_24h
from ytmetrics_dagster_tests import helpers

from .helpers import normal_ids, track_directly

pytestmark = pytest.mark.db

KEY = "%Y-%m-%d-%H:%M"


def clock_at(at: datetime) -> ClockResource:
    return ClockResource(offset_seconds=(at - datetime.now(UTC)).total_seconds())


def real_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def stored(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text("SELECT * FROM ytmetrics.snapshots ORDER BY video_id"), conn)


def test_the_clock_is_the_real_utc_clock_unless_shifted():
    before = datetime.now(UTC)
    now = ClockResource().now()
    assert before <= now <= datetime.now(UTC) and now.tzinfo is not None
    shifted = ClockResource(offset_seconds=-600).now()
    assert timedelta(seconds=599) < datetime.now(UTC) - shifted < timedelta(seconds=602)


def test_the_snapshot_observes_the_hour_in_progress_at_the_clocks_time(engine, resources):
    track_directly(engine, normal_ids(2))
    hour = real_hour()
    at = hour + timedelta(minutes=40)
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=f"{hour:{KEY}}",
        resources=dict(resources, clock=clock_at(at)),
    )
    assert result.success
    rows = stored(engine)
    assert len(rows) == 2 and (rows.snapshot_hour == hour).all()
    # observed "now" on the injected clock (minute 40), not on the wall clock
    assert (abs(rows.observed_at - at) < timedelta(seconds=30)).all()


def test_past_the_hours_deadline_on_the_clock_nothing_is_called_or_written(
    engine, resources, simulator
):
    track_directly(engine, normal_ids(2))
    hour = real_hour()
    calls = simulator.state.arrived
    result = dg.materialize(
        [video_metric_snapshots],
        partition_key=f"{hour:{KEY}}",
        resources=dict(resources, clock=clock_at(hour + timedelta(minutes=59))),
        raise_on_error=False,
    )
    assert not result.success
    error = result.failure_data_for_node("video_metric_snapshots").error.message
    assert "too late to start observing it" in error
    assert simulator.state.arrived == calls
    assert stored(engine).empty


def test_the_checks_read_their_window_and_closed_hours_from_the_clock(engine, resources):
    track_directly(engine, normal_ids(1))
    with engine.begin() as conn:
        # tracking began four hours ago; none of those hours was observed
        conn.execute(
            text("UPDATE ytmetrics.videos SET added_at = :at"),
            {"at": real_hour() - timedelta(hours=4)},
        )
    for hours_back, expected in ((0, 4), (2, 2)):
        clock = clock_at(real_hour() - timedelta(hours=hours_back) + timedelta(minutes=10))
        result = dg.materialize(
            [video_metric_snapshots, no_missing_hours_24h, due_videos_observed],
            selection=dg.AssetSelection.checks(no_missing_hours_24h, due_videos_observed),
            resources=dict(resources, clock=clock),
        )
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert checks["no_missing_hours_24h"].metadata["hours_checked"].value == expected
        # run on its own, a check's window ends with the clock's hour
        last = real_hour() - timedelta(hours=hours_back)
        window = checks["due_videos_observed"].metadata["window"].value
        assert window.endswith(f"{last + timedelta(hours=1):%Y-%m-%d %H:%M} UTC"), window


def test_a_tests_clock_keeps_the_hour_in_progress_without_waiting(monkeypatch):
    monkeypatch.setenv("YTMETRICS_TEST_CLOCK", "set-back")
    started = datetime.now(UTC)
    clock = helpers.use_new_clock()
    assert datetime.now(UTC) - started < timedelta(seconds=1)  # no sleeping
    hour = helpers.current_hour()
    assert hour == real_hour() or started.minute == 59  # the same hour as Dagster's
    minute = (clock.now() - hour).total_seconds() / 60
    assert helpers.SET_BACK_TO_MINUTE <= minute < helpers.SET_BACK_TO_MINUTE + 1
    assert helpers.clock_run_config() == {
        "resources": {"clock": {"config": {"offset_seconds": clock.offset_seconds}}}
    }
