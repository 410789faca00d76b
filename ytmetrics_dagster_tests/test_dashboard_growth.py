"""The dashboard's growth views over plain HTTP (Starlette's TestClient): the list's growth
columns, sorting, sparklines and summary; CSV of every table; the channel cohort on the video
page; the comparison page. Recent data (the last three days), so "the last 24 h" has some."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from ytmetrics_dagster.defs.channels.assets import channel_statistics
from ytmetrics_dagster.defs.growth.analysis import video_launch_curves, video_milestone_projections
from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.warehouse import analysis
from ytmetrics_dagster.warehouse.channels import upsert_channel
from ytmetrics_dagster.warehouse.engine import get_engine
from ytmetrics_dagster.warehouse.quota import quota_day, units_used
from ytmetrics_dagster.youtube.simulator.world import (
    WORLD_START,
    channel_id,
    channel_info,
    upload_id,
    upload_interval_hours,
)

from .datasets import empty_warehouse, shared_dataset
from .helpers import CATALOG, hour_range, normal_ids, observe_directly, register

pytestmark = pytest.mark.db


def channel_of(video_id: str) -> str:
    return CATALOG.profile(video_id).channel_id


HOURS = 72


@dataclass(frozen=True)
class Data:
    engine: Engine
    uploads: list[str]  # six recent uploads of simulated channel 0, newest last
    other: str
    now: datetime


@pytest.fixture(scope="module")
def data(database_url, simulator_server) -> Data:

    def build() -> Data:
        engine, resources = empty_warehouse(database_url, simulator_server)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        last = int(
            (now - timedelta(hours=8) - WORLD_START).total_seconds()
            / 3600
            / upload_interval_hours(0)
        )
        uploads = [upload_id(0, n) for n in range(last - 5, last + 1)]
        (other,) = normal_ids(1)
        register(engine, resources, [*uploads, other])
        first, end = now - timedelta(hours=HOURS), now - timedelta(hours=1)
        # the hours as the snapshot asset writes them, without its call and events for each
        observe_directly(engine, [first + timedelta(hours=h) for h in range(HOURS)])
        assert dg.materialize(
            [video_growth_hourly], resources=resources, tags=hour_range(first, end)
        ).success
        assert dg.materialize(
            [video_launch_curves, video_milestone_projections], resources=resources
        ).success
        # channel 0 is tracked: its statistics are observed every hour too
        upsert_channel(
            engine,
            channel_info(0),
            source="simulator",
            now=now,
        )
        assert dg.materialize(
            [channel_statistics], resources=resources, tags=hour_range(first, end)
        ).success
        return Data(engine, uploads, other, datetime.now(UTC))

    return shared_dataset(get_engine(database_url), "recent_history", build)


@pytest.fixture(scope="module")
def client(data) -> TestClient:
    with TestClient(create_app(data.engine)) as client:
        yield client


def snapshots(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                "SELECT video_id, observed_at, view_count FROM ytmetrics.snapshots "
                "ORDER BY video_id, observed_at"
            ),
            conn,
        )


def expected_growth(engine, now) -> dict[str, tuple[int, float]]:
    """gained_24h and views/hour now, from the stored observations."""
    start = now - timedelta(hours=24)
    out = {}
    for vid, rows in snapshots(engine).groupby("video_id"):
        before = rows[rows.observed_at <= start]
        base = before.iloc[-1] if len(before) else rows[rows.observed_at > start].iloc[0]
        latest, prev = rows.iloc[-1], rows.iloc[-2]
        hours = (latest.observed_at - prev.observed_at).total_seconds() / 3600
        out[vid] = (
            int(latest.view_count - base.view_count),
            (latest.view_count - prev.view_count) / hours,
        )
    return out


def test_the_list_leads_with_growth(client, data):
    api = client.get("/api/videos?per_page=100").json()
    expected = expected_growth(data.engine, datetime.now(UTC))
    assert len(api["videos"]) == 7
    stored = snapshots(data.engine)
    for video in api["videos"]:
        gained, rate = expected[video["video_id"]]
        assert video["gained_24h"] == gained
        assert video["views_per_hour"] == pytest.approx(rate)
        # the sparkline: every observation of the last 7 days (all of them, here)
        assert len(video["sparkline"]) == (stored.video_id == video["video_id"]).sum()
        assert video["sparkline"][-1]["views"] == video["latest_views"]
    html = client.get("/?per_page=100").text
    header = re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)
    assert "Views gained 24 h" in header[1] and "Views/hour now" in header[2]
    assert html.count('<svg class="spark"') == 7
    row = re.search(rf'<tr data-video-id="{data.other}">.*?</tr>', html, re.S).group(0)
    assert re.search(r'data-field="gained_24h">([\d,]+)<', row).group(1) == (
        f"{expected[data.other][0]:,}"
    )


@pytest.mark.parametrize("sort", ["gained_24h", "views_per_hour"])
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_the_list_sorts_by_growth_across_pages(client, data, sort, order):
    pages = [
        client.get(f"/api/videos?sort={sort}&order={order}&per_page=3&page={p}").json()
        for p in (1, 2, 3)
    ]
    values = [v[sort] for page in pages for v in page["videos"]]
    assert len(values) == 7 and pages[0]["total"] == 7
    assert values == sorted(values, reverse=order == "desc")
    assert f"sort={sort}" in client.get("/").text  # a column header sorts by it


def test_the_summary_header(client, data):
    api = client.get("/api/videos").json()["summary"]
    now = datetime.now(UTC)
    stored = snapshots(data.engine)
    assert api["active_videos"] == 7 and api["tracked_videos"] == 7
    in_24h = stored[stored.observed_at > now - timedelta(hours=24)]
    assert api["observations_24h"] == len(in_24h)
    assert api["missed_hours_24h"] == 0
    assert api["quota_used_today"] == units_used(data.engine, quota_day(now))
    html = client.get("/").text
    assert re.search(r'data-field="active_videos">7<', html)
    assert f'data-field="observations_24h">{len(in_24h):,}<' in html


def test_every_table_downloads_as_csv(client, data):
    listing = client.get("/api/videos?sort=gained_24h").json()
    response = client.get("/?sort=gained_24h&format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["video_id"] for r in rows] == [v["video_id"] for v in listing["videos"]]
    assert [int(r["gained_24h"]) for r in rows] == [v["gained_24h"] for v in listing["videos"]]
    assert 'id="csv-link"' in client.get("/").text

    vid = data.uploads[-1]
    page = client.get(f"/api/videos/{vid}?days=7").json()
    obs = list(csv.DictReader(io.StringIO(client.get(f"/videos/{vid}?days=7&format=csv").text)))
    assert [int(r["view_count"]) for r in obs] == [o["view_count"] for o in page["observations"]]
    assert obs[-1]["observed_at"] == page["observations"][-1]["observed_at"]
    launch = client.get(f"/videos/{vid}?format=csv&table=launch").text
    assert [r["age_label"] for r in csv.DictReader(io.StringIO(launch))] == [
        r["age_label"] for r in page["launch_curve"]
    ]
    assert client.get("/?format=xml").status_code == 400


def test_the_video_page_compares_with_one_cohort_of_the_channel(client, data):
    vid = data.uploads[-1]  # the newest: values at 1 h and 6 h
    page = client.get(f"/api/videos/{vid}").json()
    own = [r["age_label"] for r in page["launch_curve"] if r["views"] is not None]
    with data.engine.connect() as conn:
        curves = pd.read_sql_query(
            text(
                "SELECT video_id, age_label, views FROM ytmetrics.video_launch_curves "
                "WHERE video_id = ANY(:ids) AND views IS NOT NULL"
            ),
            conn,
            params={"ids": data.uploads[:-1]},
        )
    cohort_ages = page["channel_cohort"]["ages"]
    assert set(cohort_ages) <= set(own)
    having_all = curves[curves.age_label.isin(cohort_ages)].groupby("video_id").age_label.nunique()
    members = having_all[having_all == len(cohort_ages)].index
    assert page["channel_cohort"]["videos"] == len(members) >= 3
    assert page["channel_cohort"]["drawn"] is True
    for row in page["launch_curve"]:
        if row["age_label"] in cohort_ages:
            expected = curves[
                curves.video_id.isin(members) & (curves.age_label == row["age_label"])
            ]
            assert row["channel_median_views"] == pytest.approx(expected.views.median())
            assert row["channel_videos"] == len(members)
        else:
            assert row["channel_median_views"] is None
    html = client.get(f"/videos/{vid}").text
    assert f"channel median over the same {len(members)} videos" in html


def _points(html: str, chart_id: str, series: str) -> list[tuple[float, float]]:
    svg = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S).group(0)
    group = re.search(rf'<g class="series {series}".*?</g>', svg, re.S).group(0)
    return [
        (float(x), float(y)) for x, y in re.findall(r'data-x="([^"]+)" data-y="([^"]+)"', group)
    ]


def test_compare_overlays_videos_by_age_and_by_time(client, data):
    chosen = [data.uploads[-1], data.uploads[-3], data.other]
    query = "videos=" + ",".join(chosen) + "&age_days=2&days=3"
    api = client.get(f"/api/compare?{query}").json()
    assert [v["video_id"] for v in api["videos"]] == chosen
    stored = snapshots(data.engine)
    html = client.get(f"/compare?{query}").text
    assert "<script" not in html
    for i, video in enumerate(api["videos"]):
        assert video["series_class"] == f"s{i}"
        published = datetime.fromisoformat(video["published_at"].replace("Z", "+00:00"))
        mine = stored[stored.video_id == video["video_id"]]
        ages = (mine.observed_at - published).dt.total_seconds() / 3600
        in_age = mine[(ages <= 48 + 1) & (ages >= -1)]
        assert [p["views"] for p in video["by_age"]] == list(in_age.view_count)
        # the chart draws the JSON's numbers: x = age in hours, y = views
        drawn = _points(html, "chart-compare-age", f"s{i}")
        assert [y for _, y in drawn] == [float(p["views"]) for p in video["by_age"]]
        ages = [p["age_hours"] for p in video["by_age"]]
        assert [x for x, _ in drawn] == pytest.approx(ages, abs=1e-3)  # data-x: 6 digits
        rates = [p["views_per_hour"] for p in video["by_age"] if p["views_per_hour"] is not None]
        assert [y for _, y in _points(html, "chart-compare-rate", f"s{i}")] == pytest.approx(rates)
        assert len(_points(html, "chart-compare-time", f"s{i}")) == len(video["by_time"]) > 0
    # the old video is past 2 days of age: nothing by age, all of the last 3 days by time
    assert api["videos"][2]["by_age"] == []
    csv_rows = list(csv.DictReader(io.StringIO(client.get(f"/compare?{query}&format=csv").text)))
    assert len(csv_rows) == sum(len(v["by_age"]) for v in api["videos"])
    chosen_csv = client.get(f"/compare?{query}&format=csv&table=videos").text
    assert [r["video_id"] for r in csv.DictReader(io.StringIO(chosen_csv))] == chosen


def test_compare_is_chosen_by_search_and_reached_from_a_video_page(client, data):
    vid = data.uploads[-1]
    page = client.get(f"/videos/{vid}").text
    link = re.search(r'id="compare-link" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    found = client.get(link)
    assert found.status_code == 200
    api = client.get("/api" + link).json()
    assert [v["video_id"] for v in api["videos"]] == [vid]
    # the search offers the channel's other videos, each with an "add" link
    offered = {r["video_id"] for r in api["search_results"]}
    assert offered == set(data.uploads[:-1])
    add = re.search(r'<a class="add" href="([^"]+)"', found.text).group(1).replace("&amp;", "&")
    added = client.get("/api" + add).json()
    assert len(added["videos"]) == 2 and added["videos"][0]["video_id"] == vid


def test_compare_refuses_bad_input(client, data):
    nine = ",".join(list(dict.fromkeys([*data.uploads, data.other, *normal_ids(4)]))[:9])
    assert len(set(nine.split(","))) == 9
    assert client.get(f"/compare?videos={nine}").status_code == 400
    assert client.get("/compare?videos=https://vimeo.com/123").status_code == 400
    assert client.get("/api/compare?videos=AAAAAAAAAAA").status_code == 404
    empty = client.get("/compare")
    assert empty.status_code == 200 and 'id="no-videos"' in empty.text


def test_the_channel_page_shows_its_history_and_its_videos_launches(client, data):
    cid = channel_id(0)
    video_page = client.get(f"/videos/{data.uploads[-1]}").text
    assert f'id="channel-link" href="/channels/{cid}"' in video_page
    api = client.get(f"/api/channels/{cid}?days=7").json()
    with data.engine.connect() as conn:
        stored = pd.read_sql_query(
            text(
                "SELECT * FROM ytmetrics.channel_statistics_growth WHERE channel_id = :c "
                "ORDER BY snapshot_hour"
            ),
            conn,
            params={"c": cid},
        )
    assert len(api["history"]) == len(stored) == HOURS
    assert [h["view_count"] for h in api["history"]] == list(stored.view_count)
    assert [h["subscriber_count"] for h in api["history"]] == list(stored.subscriber_count)
    assert api["history"][1]["views_gained"] == int(stored.views_gained.iloc[1])
    assert api["latest"]["view_count"] == int(stored.view_count.iloc[-1])
    # its videos' launches: the recent ones by age, and the cohort median of the launch curves
    assert {v["video_id"] for v in api["launches"]} == set(data.uploads)
    assert api["cohort"]["drawn"] and api["cohort"]["videos"] >= 3
    html = client.get(f"/channels/{cid}?days=7").text
    assert "<script" not in html
    for chart_id in ("chart-channel-subscribers", "chart-channel-views", "chart-channel-launches"):
        assert f'id="{chart_id}"' in html
    views_svg = re.search(r'<svg[^>]*id="chart-channel-views".*?</svg>', html, re.S).group(0)
    assert [int(y) for y in re.findall(r'data-y="(\d+)"', views_svg)] == list(stored.view_count)
    assert 'id="median-row"' in html
    history_csv = list(
        csv.DictReader(io.StringIO(client.get(f"/channels/{cid}?days=7&format=csv").text))
    )
    assert [int(r["view_count"]) for r in history_csv] == list(stored.view_count)
    videos_csv = client.get(f"/channels/{cid}?format=csv&table=videos").text
    assert len(list(csv.DictReader(io.StringIO(videos_csv)))) == len(data.uploads)
    # a channel known only through a tracked video: a page, without statistics
    other = client.get(f"/channels/{channel_of(data.other)}")
    assert other.status_code == 200 and "not tracked as a channel" in other.text
    assert client.get("/channels/UC" + "x" * 22).status_code == 404
    assert client.get("/channels/nope").status_code == 400


def test_a_never_observed_video_sorts_last_by_growth(client, data):
    with data.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.videos (video_id, title, status, source)"
                " VALUES ('neverSeen01', 'not observed yet', 'active', 'simulator')"
            )
        )
    try:
        for order in ("desc", "asc"):
            page = client.get(f"/?sort=gained_24h&order={order}&per_page=100")
            assert page.status_code == 200
            ids = re.findall(r'<tr data-video-id="([^"]+)"', page.text)
            assert ids[-1] == "neverSeen01" and len(ids) == 8
    finally:
        with data.engine.begin() as conn:
            conn.execute(text("DELETE FROM ytmetrics.videos WHERE video_id = 'neverSeen01'"))


def test_an_eta_beyond_the_horizon_reads_beyond_1_year(client, data, monkeypatch):
    vid = data.uploads[-1]
    dated = client.get(f"/api/videos/{vid}").json()["milestone"]
    assert dated["eta_at"] is not None and dated["eta_beyond_horizon"] is False
    # the same projection past a horizon shorter than its ETA
    monkeypatch.setattr(analysis, "ETA_HORIZON_HOURS", int(dated["eta_hours"]) - 1)
    far = client.get(f"/api/videos/{vid}").json()["milestone"]
    assert far["eta_at"] is None and far["eta_beyond_horizon"] is True
    html = client.get(f"/videos/{vid}").text
    eta = re.search(r'<strong data-field="eta_at">([^<]+)</strong>', html).group(1)
    assert eta == "beyond 1 year"
