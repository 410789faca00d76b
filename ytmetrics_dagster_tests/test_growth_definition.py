"""One definition of growth over a period, whatever the bucket size; top growers ranked by the
views gained inside the window, also when hourly and daily videos are mixed."""

from datetime import timedelta
from itertools import islice

import dagster as dg
import pytest

from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.warehouse import metric_series, performance, read_limits, top_growers

from .helpers import (
    CATALOG,
    DAY,
    hour_range,
    normal_ids,
    observe_directly,
    register,
    snapshot,
    track_directly,
)

pytestmark = pytest.mark.db

TIERED = {
    "ops": {"video_metric_snapshots": {"config": {"cadence": "7d:1h,*:24h", "daily_hour_utc": 12}}}
}


def views(vid, hour):
    return CATALOG.profile(vid).statistics_at(hour + timedelta(minutes=5)).view_count


def test_growth_over_a_period_does_not_depend_on_the_interval(engine, resources):
    vid = normal_ids(1)[0]
    track_directly(engine, [vid])
    before = DAY - timedelta(hours=2)  # the last observation before the period
    inside = [DAY + timedelta(hours=h) for h in (1, 5, 23, 30, 47)]
    observe_directly(engine, [before, *inside])
    now = DAY + timedelta(hours=47, minutes=30)  # the period is (DAY - 30 min, now]
    expected = views(vid, inside[-1]) - views(vid, before)
    growths = {}
    for interval in read_limits.INTERVALS:
        m = metric_series.video_metrics(engine, vid, days=2, interval=interval, now=now)
        g = m.growth["views"]
        assert g["absolute"] == expected, interval
        assert g["baseline"] == metric_series.BASELINE_BEFORE
        assert g["from"] == views(vid, before) and g["to"] == views(vid, inside[-1])
        assert g["percent"] == pytest.approx(100.0 * expected / views(vid, before))
        # buckets only group: their gains add up to the period's growth, the first day's
        # gains (since the observation before the period) included
        assert int(m.series.views_gained.sum()) == expected, interval
        assert int(m.series.observations.sum()) == len(inside)
        growths[interval] = m.growth
    assert growths["hour"] == growths["day"] == growths["week"] == growths["month"]
    day = metric_series.video_metrics(engine, vid, days=2, interval="day", now=now).series
    assert list(day.observations) == [3, 2]
    assert day.views_gained.iloc[0] == views(vid, inside[2]) - views(vid, before)
    assert day.views_gained.iloc[1] == views(vid, inside[4]) - views(vid, inside[2])

    # the MCP/CLI analysis uses the same definition
    analysis = performance.analyze_video_performance(engine, vid, days=2, interval="hour", now=now)
    assert analysis["growth"] == growths["day"]
    assert analysis["period"]["growth_definition"] == metric_series.GROWTH_DEFINITION


def test_growth_of_a_video_first_observed_inside_the_period(engine, resources):
    vid = normal_ids(1)[0]
    track_directly(engine, [vid])
    hours = [DAY + timedelta(hours=h) for h in (2, 3, 9)]
    observe_directly(engine, hours)
    now = DAY + timedelta(hours=10)
    for interval in ("hour", "day"):
        m = metric_series.video_metrics(engine, vid, days=1, interval=interval, now=now)
        g = m.growth["views"]
        assert g["absolute"] == views(vid, hours[-1]) - views(vid, hours[0])
        assert g["baseline"] == metric_series.BASELINE_FIRST
        assert int(m.series.views_gained.sum()) == g["absolute"]
    hourly = metric_series.video_metrics(engine, vid, days=1, interval="hour", now=now).series
    # the very first observation has no gain: nothing was observed before it
    assert hourly.views_gained.isna().tolist() == [True, False, False]
    # one observation: no growth to speak of
    single = metric_series.video_metrics(engine, vid, days=1, interval="hour", now=hours[0])
    assert single.growth is None


def _mixed_cadence_pair():
    """An old (daily) video that gains more views in a day than a young (hourly) video gains
    in two hours, at a lower rate."""
    t = DAY + timedelta(hours=12, minutes=5)

    def v(vid, at):
        return CATALOG.profile(vid).statistics_at(at).view_count

    olds = CATALOG.find_ids(
        lambda p: p.exists and p.gone_at is None and p.published_at < DAY - timedelta(days=30),
        prefix="oldfast",
        limit=200,
    )
    # the first 200 such young videos, found as far as the search needs them (young ones are
    # rare: all 200 take a scan of ~150,000 ids, and the first old video's match comes early)
    found = CATALOG.iter_ids(
        lambda p: (
            p.exists
            and p.gone_at is None
            and DAY - timedelta(days=3) < p.published_at < DAY - timedelta(days=1)
        ),
        prefix="youngfast",
    )
    seen: list[str] = []

    def youngs():
        yield from seen
        for young in islice(found, 200 - len(seen)):
            seen.append(young)
            yield young

    for old in olds:
        day_gain = v(old, t) - v(old, t - timedelta(days=1))
        for young in youngs():
            hour_gain = v(young, t + timedelta(hours=1)) - v(young, t)
            before = v(young, t) - v(young, t - timedelta(hours=1))
            if day_gain > hour_gain + before and day_gain / 24 * 3 < hour_gain:
                return old, young
    raise AssertionError("no suitable pair of simulated videos")


def test_top_growers_rank_by_views_gained_within_the_window(engine, resources):
    old, young = _mixed_cadence_pair()
    register(engine, resources, [old, young])
    hours = [DAY - timedelta(hours=12)] + [DAY + timedelta(hours=h) for h in (11, 12, 13)]
    for at in hours:
        assert snapshot(resources, at, run_config=TIERED).success
    assert dg.materialize(
        [video_growth_hourly], resources=resources, tags=hour_range(hours[0], hours[-1])
    ).success

    def at(hour):  # observation time
        return hour + timedelta(minutes=5)

    noon = DAY + timedelta(hours=12)
    window = (noon, noon + timedelta(hours=1))
    top = top_growers.top_growers_between(engine, *window).set_index("video_id")
    # the old video was observed at 12:05 only (daily); its row carries a day of gains, of
    # which only the 5 minutes after 12:00 lie in the window
    old_day = views(old, noon) - views(old, noon - timedelta(hours=24))
    assert top.loc[old].views_gained == round(old_day * 5 / (24 * 60))
    assert top.loc[old].views_per_hour == pytest.approx(old_day / 24, abs=0.06)
    assert top.loc[old].covered_hours == pytest.approx(5 / 60, abs=0.005)
    assert bool(top.loc[old].prorated)
    # the young one is observed hourly: 5 minutes of 11:05-12:05 and 55 of 12:05-13:05
    young_gain = (views(young, noon) - views(young, noon - timedelta(hours=1))) * 5 / 60 + (
        views(young, noon + timedelta(hours=1)) - views(young, noon)
    ) * 55 / 60
    assert top.loc[young].views_gained == round(young_gain)
    assert top.loc[young].covered_hours == pytest.approx(1.0)
    assert list(top.index) == [young, old]
    assert top.attrs["method"] == top_growers.TOP_GROWERS_METHOD
    # the sum of the rows stored under the hour would have put the old video first
    assert old_day > views(young, noon) - views(young, noon - timedelta(hours=1))

    # a window inside one long interval: found through the row after the window
    inside = top_growers.top_growers_between(engine, noon - timedelta(minutes=30), noon).set_index(
        "video_id"
    )
    assert inside.loc[old].views_gained == round(old_day * 30 / (24 * 60))
    assert inside.loc[old].views == views(old, noon - timedelta(hours=24))
    assert inside.loc[old].views_observed_at == at(noon - timedelta(hours=24))

    # the same ranking through top_growing (CLI top, MCP, notebook)
    recent = top_growers.top_growing(engine, hours=1, now=window[1])
    assert list(recent.video_id) == [young, old]


def test_top_growing_rejects_bad_input(engine):
    with pytest.raises(read_limits.InvalidQueryError):
        top_growers.top_growing(engine, hours=0)
    with pytest.raises(read_limits.InvalidQueryError):
        top_growers.top_growing(engine, limit=0)
    with pytest.raises(read_limits.InvalidQueryError):
        top_growers.top_growers_between(engine, DAY, DAY)
