"""The dashboard's JSON twins and CSV tables on recent data (test_dashboard_growth's: growth in
the last 24 h, sparklines, a tracked channel with hourly statistics and a drawn cohort): the
same text as the page's values converted one by one, the same CSV bytes as before the models."""

from __future__ import annotations

import pytest

from ytmetrics_dagster.youtube.simulator.world import channel_id

from .test_dashboard_growth import client, data  # noqa: F401 - the recent history
from .test_results_dashboard import check_channel, check_compare, check_list, check_video_csvs

pytestmark = pytest.mark.db


def test_the_growth_list_compare_and_channel_json_are_their_models(data, client):  # noqa: F811
    filled: set[str] = set()
    for sort in ("gained_24h", "views_per_hour", "added"):
        check_list(client, data.engine, filled, sort=sort, per_page=100)
    check_list(client, data.engine, filled, sort="gained_24h", order="asc", per_page=3, page=2)
    check_compare(
        client, data.engine, [data.uploads[-1], data.uploads[-3], data.other], None, filled
    )
    check_compare(client, data.engine, [data.uploads[-1]], "Simulated", filled)
    raw = check_channel(client, data.engine, channel_id(0), filled)
    assert raw["history"] and raw["cohort"]["drawn"]
    for vid in (data.uploads[-1], data.other):
        check_video_csvs(client, data.engine, vid)
    # the data exercised the typed parts, numbers included
    assert {
        "$.videos[].gained_24h",
        "$.videos[].views_per_hour",
        "$.videos[].sparkline[].at",
        "$.videos[].sparkline[].views",
        "$.summary.quota_used_today",
        "$.videos[].by_time[].hours_elapsed",
        "$.channel.tracked_at",
        "$.latest.views_per_hour",
        "$.history[].hours_elapsed",
        "$.history[].subscribers_gained",
        "$.launches[].by_age[].views",
        "$.launch_curves[].6h",
        "$.cohort.median_views[]",
    } <= filled
