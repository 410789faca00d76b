"""Quota capacity: the pure arithmetic, the counts query, the asset metadata and the warning."""

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.operations.alerts import quota_capacity_sensor
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.domain.capacity import CapacityCounts, CapacitySettings, estimate_capacity
from ytmetrics_dagster.warehouse.alerts import recent_alerts
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import normal_ids, register

pytestmark = pytest.mark.unit

DEFAULT = CapacitySettings()
BATCH = CapacitySettings(use_batch_get_stats=True)


def counts(hourly: int = 0, daily: int = 0, **more) -> CapacityCounts:
    return CapacityCounts(active_by_interval={1: hourly, 24: daily}, **more)


def assert_fit_is_exact(base: CapacityCounts, settings: CapacitySettings, fit: int) -> None:
    """``fit`` more hourly videos stay within budget; one more does not."""

    def plus(k: int) -> CapacityCounts:
        per = dict(base.active_by_interval)
        per[1] = per.get(1, 0) + k
        return CapacityCounts(
            per, base.unavailable, base.tracked_channels, base.registration_units_24h
        )

    assert not estimate_capacity(plus(fit), settings).over_budget
    assert estimate_capacity(plus(fit + 1), settings).over_budget


def test_ten_thousand_hourly_and_two_hundred_thousand_daily_do_not_fit():
    c = estimate_capacity(counts(10_000, 200_000), DEFAULT)
    assert c.hourly_units == 24 * 200  # 4,800
    assert c.tiered_units == 4_000  # the daily hour: 4,200 batches instead of 200
    assert c.refresh_units == 4_200  # details of all 210,000 once a day
    assert (c.discovery_units, c.registration_units) == (0, 0)
    assert c.needed_units == 13_000
    assert c.budget_units == 9_500
    assert c.shortfall_units == 3_500 and c.over_budget
    assert c.more_hourly_videos_fit == 0


def test_an_empty_set_fits_19000_hourly_videos_counting_their_refresh():
    c = estimate_capacity(counts(), DEFAULT)
    assert c.needed_units == 0 and not c.over_budget
    # 380 batches: 24 × 380 statistics + 380 refresh = 9,500
    assert c.more_hourly_videos_fit == 19_000
    assert_fit_is_exact(counts(), DEFAULT, 19_000)


def test_older_tiers_ride_in_the_hourly_batches_of_their_hour():
    # 10 hourly + 10 daily videos: one batch every hour, the daily ones included at no cost
    c = estimate_capacity(counts(10, 10), DEFAULT)
    assert (c.hourly_units, c.tiered_units, c.refresh_units) == (24, 0, 1)
    six = CapacityCounts({1: 100, 6: 1_000, 24: 5_000})
    c = estimate_capacity(six, DEFAULT)
    # 1 hour with everyone (122 batches), 3 more with the 6-hourly (22), 20 hourly only (2)
    assert c.hourly_units == 48 and c.hourly_units + c.tiered_units == 122 + 3 * 22 + 20 * 2
    assert c.refresh_units == 122


def test_batch_get_stats_splits_statistics_over_two_buckets():
    c = estimate_capacity(counts(10_000, 200_000), BATCH)
    # 200 batches an hour, 4,200 at the daily hour: half (rounded up) on videos.list
    assert c.hourly_units == 24 * 100
    assert c.tiered_units == 2_100 - 100
    assert c.batch_stats_needed_units == 23 * 100 + 2_100
    assert c.refresh_units == 4_200  # details always use videos.list
    assert c.needed_units == 2_400 + 2_000 + 4_200 and not c.over_budget
    assert_fit_is_exact(counts(10_000, 200_000), BATCH, c.more_hourly_videos_fit)
    empty = estimate_capacity(counts(), BATCH)
    assert empty.more_hourly_videos_fit == 36_500  # about twice the videos.list-only figure
    assert_fit_is_exact(counts(), BATCH, 36_500)


def test_the_batch_bucket_can_be_the_limit():
    small_bucket = CapacitySettings(use_batch_get_stats=True, batch_stats_daily_units=240)
    c = estimate_capacity(counts(), small_bucket)
    # 24 × ⌊calls/2⌋ ≤ 240 → at most 21 batches an hour
    assert c.more_hourly_videos_fit == 21 * 50
    assert_fit_is_exact(counts(), small_bucket, c.more_hourly_videos_fit)
    over = estimate_capacity(counts(hourly=2_000), small_bucket)
    assert over.batch_stats_needed_units == 24 * 20
    assert over.batch_stats_shortfall_units == 240 and over.over_budget


def test_discovery_polls_every_channel_and_may_use_the_reserve():
    base = counts(tracked_channels=24)
    c = estimate_capacity(base, DEFAULT)
    assert c.discovery_units == 24 * 288  # every 300 s, at least one page a poll
    assert c.budget_units == 9_500 + 500  # the reserve is there for discovery
    # 10,000 − 6,912 = 3,088 left: 123 batches of 50 at 25 units/day each
    assert c.more_hourly_videos_fit == 123 * 50
    assert_fit_is_exact(base, DEFAULT, 123 * 50)
    # a quiet reserve is not collection budget
    assert estimate_capacity(counts(), DEFAULT).budget_units == 9_500
    small = estimate_capacity(counts(tracked_channels=1), DEFAULT)
    assert small.discovery_units == 288 and small.budget_units == 9_500 + 288


def test_discovery_alone_can_exceed_the_budget():
    c = estimate_capacity(counts(tracked_channels=50), CapacitySettings(channel_poll_seconds=60))
    assert c.discovery_units == 50 * 1_440
    assert c.shortfall_units == 72_000 - 10_000 and c.more_hourly_videos_fit == 0


def test_registrations_and_unavailable_videos_count():
    c = estimate_capacity(counts(unavailable=120, registration_units_24h=7), DEFAULT)
    # 7 units of details, and as much again for the first observation of what they registered
    assert c.refresh_units == 3 and c.registration_units == 14 and c.needed_units == 17


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="divide 24"):
        estimate_capacity(CapacityCounts({5: 10}), DEFAULT)
    with pytest.raises(ValueError, match="positive"):
        CapacitySettings(channel_poll_seconds=0)


@pytest.mark.db
def test_capacity_metadata_under_the_default_tiers(engine, simulator, database_url, monkeypatch):
    monkeypatch.setenv("YTMETRICS_CADENCE", "7d:1h,*:24h")
    ids = normal_ids(60)  # all older than a week: daily
    queue_registrations(engine, [(v, v) for v in ids])
    resources = {
        "youtube": YouTubeResource(source="simulator", base_url=simulator.base_url),
        "warehouse": WarehouseResource(database_url=database_url),
    }
    result = dg.materialize([tracked_videos], resources=resources)
    md = result.asset_materializations_for_node("tracked_videos")[0].metadata
    assert md["videos_less_than_hourly"].value == 60 and md["videos_hourly"].value == 0
    assert md["quota_units_per_day_hourly"].value == 0
    assert md["quota_units_per_day_tiered"].value == 2  # ceil(60/50) once a day
    assert md["quota_units_per_day_refresh"].value == 2
    # the run that registered 60: 2 units of details, 2 for their first observation
    assert md["quota_units_per_day_registrations"].value == 4
    assert md["quota_units_per_day_discovery"].value == 0
    assert md["quota_units_per_day_needed"].value == 8
    assert md["quota_units_per_day_budget"].value == 9_500
    expected = estimate_capacity(
        CapacityCounts({24: 60}, registration_units_24h=2), DEFAULT
    ).more_hourly_videos_fit
    assert md["quota_more_hourly_videos_fit"].value == expected
    # numeric, so the UI plots them
    for key, value in md.items():
        if key.startswith("quota_units_per_day"):
            assert isinstance(value, dg.IntMetadataValue), key


@pytest.mark.db
def test_capacity_sensor_warns_and_alerts_once_a_day_when_the_need_exceeds_the_budget(
    engine, resources, monkeypatch
):
    monkeypatch.setenv("YTMETRICS_CADENCE", "*:1h")
    register(engine, resources, normal_ids(120))
    # 120 hourly videos: 3 batches × 24 + 3 refresh + 3 + 3 registration = 81 units a day
    roomy = YouTubeResource(source="simulator", daily_quota_units=100, discovery_reserve_units=10)

    def tick(youtube):
        context = dg.build_sensor_context(
            resources={"warehouse": resources["warehouse"], "youtube": youtube}
        )
        return quota_capacity_sensor(context).skip_message

    assert "81 units/day needed of 90" in tick(roomy)
    assert recent_alerts(engine).empty
    tight = YouTubeResource(source="simulator", daily_quota_units=70, discovery_reserve_units=10)
    message = tick(tight)
    assert "capacity exceeded" in message and "alert raised" in message
    assert "already alerted today" in tick(tight)
    alerts = recent_alerts(engine)
    assert list(alerts.kind) == ["capacity"]
    details = alerts.details.iloc[0]
    assert details["units_per_day_needed"] == 81 and details["units_per_day_budget"] == 60
    assert details["hourly"] == 72 and details["refresh"] == 3
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT delivery_state FROM ytmetrics.alerts")).scalar_one()
            == "pending"
        )
