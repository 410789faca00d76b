"""The dashboard over real data: simulated videos registered and observed by real
materializations (with a gap of missed hours), growth and analysis computed, then the app
read over HTTP (Starlette's TestClient) and in Debian's headless Chromium (Playwright, the
app served by uvicorn on 127.0.0.1). The numbers on the page are the read API's numbers."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import requests
from sqlalchemy import Engine
from starlette.testclient import TestClient

from ytmetrics_dagster.defs import links
from ytmetrics_dagster.defs.growth.analysis import video_launch_curves, video_milestone_projections
from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.dashboard import charts
from ytmetrics_dagster.surfaces.dashboard.app import MAX_ECHO, create_app
from ytmetrics_dagster.warehouse import cohorts, metric_series, performance
from ytmetrics_dagster.warehouse.engine import get_engine
from ytmetrics_dagster.warehouse.videos import remove_video

from .datasets import empty_warehouse, shared_dataset
from .helpers import CATALOG, DAY, free_port, hour_range, normal_ids, observe_directly, register

pytestmark = pytest.mark.db

CHROMIUM = "/usr/bin/chromium"
# Every video is observed hourly except these hours after the first observation: a gap.
GAP_HOURS = range(21, 25)
OBSERVED_HOURS = 36


@dataclass(frozen=True)
class Data:
    engine: Engine
    channel_videos: list[str]  # three uploads of one channel, newest first
    other: str  # another channel's video, observed the same hours
    removed: str  # tracked, observed, then removed
    dagster_link: str | None  # the `dashboard` metadata of the tracked_videos materialization
    first_hour: datetime
    last_hour: datetime


@pytest.fixture(scope="module")
def data(database_url, simulator_server) -> Data:
    """Built once for this module and test_results_dashboard (the per-test ``engine`` fixture
    would truncate it; datasets.py)."""

    def build() -> Data:
        engine, resources = empty_warehouse(database_url, simulator_server)
        uploads = [p for p in CATALOG.uploads(0, DAY) if p.gone_at is None][:3]
        channel_videos = [p.video_id for p in uploads]
        other, removed = normal_ids(2)
        registered = register(engine, resources, [*channel_videos, other, removed])
        metadata = registered.asset_materializations_for_node("tracked_videos")[0].metadata

        newest = uploads[0].published_at
        # the first hour whose observation (minute 5, as the simulator answers) follows publishing
        first = (newest - timedelta(minutes=5)).replace(minute=0, second=0, microsecond=0)
        first += timedelta(hours=1)
        last = first + timedelta(hours=OBSERVED_HOURS)
        # The hours as the snapshot asset writes them, with a gap: those hours are never observed.
        observed = [h for h in range(OBSERVED_HOURS + 1) if h not in GAP_HOURS]
        observe_directly(engine, [first + timedelta(hours=h) for h in observed])
        assert dg.materialize(
            [video_growth_hourly], resources=resources, tags=hour_range(first, last)
        ).success
        assert dg.materialize(
            [video_launch_curves, video_milestone_projections], resources=resources
        ).success
        remove_video(engine, removed, delete_metrics=False, now=datetime.now(UTC))
        link = metadata["dashboard"].value if "dashboard" in metadata else None
        return Data(engine, channel_videos, other, removed, link, first, last)

    return shared_dataset(get_engine(database_url), "rich_history", build)


@pytest.fixture(scope="module")
def client(data) -> TestClient:
    with TestClient(create_app(data.engine)) as client:
        yield client


def _circles(html: str, chart_id: str) -> list[dict[str, str]]:
    """The data points of one chart: attributes of its circles/rects with class pt."""
    svg = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert svg, f"chart {chart_id} not rendered"
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))
        for m in re.finditer(r'<(?:circle|rect) (class="pt[^"]*"[^>]*)>', svg.group(0))
    ]


def _series(html: str, chart_id: str, key: str) -> str:
    svg = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S).group(0)
    return re.search(rf'<g class="series {key}".*?</g>', svg, re.S).group(0)


def _field(html: str, name: str) -> str:
    match = re.search(rf'data-field="{name}"[^>]*>([^<]*)<', html)
    assert match, f"field {name} not on the page"
    return match.group(1).strip()


# --- the video page ------------------------------------------------------------------------


def test_video_page_charts_the_read_api_numbers(client, data):
    vid = data.channel_videos[0]
    observations = metric_series.video_observations(data.engine, vid, days=3)
    assert len(observations) == OBSERVED_HOURS + 1 - len(GAP_HOURS)

    api = client.get(f"/api/videos/{vid}?days=3").json()
    assert [o["view_count"] for o in api["observations"]] == list(observations.view_count)
    assert [o["views_per_hour"] for o in api["observations"]] == [
        None if math.isnan(v) else v for v in observations.views_per_hour
    ]
    assert api["simulated"] is True and api["data_sources"] == ["simulator"]
    assert api["window"] == {
        "days": 3,
        "ends_at_latest_observation": True,
        "first_observed_at": models.timestamp(observations.observed_at.iloc[0]),
        "last_observed_at": models.timestamp(observations.observed_at.iloc[-1]),
        "gap_minutes": 90,
    }

    curve = performance.launch_curve(data.engine, vid).set_index("age_label")
    cohort = cohorts.cohort_for_video(
        data.engine,
        vid,
        CATALOG.profile(vid).channel_id,
        performance.launch_curve(data.engine, vid),
    )
    median = cohort.median.set_index("age_label")
    by_age = {r["age_label"]: r for r in api["launch_curve"]}
    assert set(by_age) == {"1h", "6h", "24h", "48h", "7d", "30d"}
    for age, row in curve.iterrows():
        if pd.isna(row.views):  # not bracketed by observations close enough: no value
            assert by_age[age]["views"] is None and by_age[age]["reached"]
        else:
            assert by_age[age]["views"] == pytest.approx(float(row.views))
            assert by_age[age]["interpolated"] == bool(row.interpolated)
    # the channel's other two videos are no norm: no median is drawn from fewer than three
    # (test_dashboard_growth.py draws one over a cohort of four)
    assert cohort.videos < 3 and not cohort.drawn
    assert all(r["channel_median_views"] is None for r in api["launch_curve"])
    assert api["channel_cohort"]["drawn"] is False
    assert api["channel_cohort"]["videos"] == cohort.videos

    milestone = performance.milestone(data.engine, vid)
    for key in ("views", "views_per_hour", "next_milestone", "eta_hours", "window_hours"):
        assert api["milestone"][key] == pytest.approx(float(milestone[key]))
    assert api["milestone"]["method"] == milestone["method"]
    for key in ("window_start", "observed_at", "eta_at"):
        # the JSON's timestamps are to the second, as everywhere (CLI, MCP)
        assert api["milestone"][key] == models.timestamp(milestone[key])
    assert "24 h" in api["milestone"]["method"]

    page = client.get(f"/videos/{vid}?days=3")
    assert page.status_code == 200
    html = page.text
    assert 'id="simulated-banner"' in html and "SIMULATED DATA" in html
    views_points = _circles(html, "chart-views")
    assert [int(p["data-y"]) for p in views_points] == list(observations.view_count)
    # the gap splits the views line in two; nothing is drawn across it
    assert _series(html, "chart-views", "views").count("<path") == 2
    rates = observations[observations.views_per_hour.notna()]
    rate_points = _circles(html, "chart-rate")
    assert [float(p["data-y"]) for p in rate_points] == pytest.approx(list(rates.views_per_hour))
    hollow = [p for p in rate_points if "hollow" in p["class"]]
    assert len(hollow) == 1  # the first observation after the gap: an average over 5 h
    assert float(hollow[0]["data-y"]) == pytest.approx(
        rates[rates.hours_elapsed > 1.5].views_per_hour.iloc[0]
    )
    assert _series(html, "chart-rate", "rate").count('class="span"') == 1
    launch = re.search(r'<svg[^>]*id="chart-launch".*?</svg>', html, re.S).group(0)
    video_series = re.search(r'<g class="series video".*?</g>', launch, re.S).group(0)
    median_series = re.search(r'<g class="series median".*?</g>', launch, re.S).group(0)
    assert video_series.count('class="pt') == curve.views.notna().sum()
    assert median_series.count('class="pt') == len(median)

    latest = observations.iloc[-1]
    assert _field(html, "latest_views") == f"{latest.view_count:,}"
    assert _field(html, "next_milestone") == f"{milestone['next_milestone']:,}"
    assert _field(html, "views_per_hour") == f"{milestone['views_per_hour']:,.1f}"
    eta = datetime.fromisoformat(milestone["eta_at"])
    assert _field(html, "eta_at") == eta.strftime("%Y-%m-%d %H:%M UTC")
    assert "linear extrapolation" in _field(html, "method")
    assert len(_circles(html, "chart-milestone")) >= 2
    assert "fewer than 3" in re.search(r'<p id="cohort".*?</p>', html, re.S).group(0)


def test_video_page_accepts_any_video_url_form(client, data):
    vid = data.channel_videos[1]
    for form in (
        f"https://www.youtube.com/watch?v={vid}",
        f"https://youtu.be/{vid}",
        f"youtube.com/shorts/{vid}",
    ):
        response = client.get(f"/videos/{form}", follow_redirects=False)
        assert response.status_code == 307, form
        assert response.headers["location"] == f"/videos/{vid}"
    assert client.get(f"/videos/https://youtu.be/{vid}").status_code == 200
    api = client.get(f"/api/videos/https://youtu.be/{vid}", follow_redirects=False)
    assert api.headers["location"] == f"/api/videos/{vid}"


def test_a_removed_video_without_projection_still_shows_its_history(client, data):
    html = client.get(f"/videos/{data.removed}").text
    assert 'id="no-milestone"' in html and "the video is removed" in html
    assert len(_circles(html, "chart-views")) == len(
        metric_series.video_observations(data.engine, data.removed, days=7)
    )


# --- the list ------------------------------------------------------------------------------


def _listed(client, **params) -> list[str]:
    response = client.get("/api/videos", params=params)
    assert response.status_code == 200, response.text
    return [v["video_id"] for v in response.json()["videos"]]


def test_list_search_filters_sort_and_paging(client, data):
    active = [*data.channel_videos, data.other]
    assert sorted(_listed(client)) == sorted(active)
    assert sorted(_listed(client, status="all")) == sorted([*active, data.removed])
    assert _listed(client, status="removed") == [data.removed]
    channel = CATALOG.profile(data.channel_videos[0]).channel_id
    assert sorted(_listed(client, channel=channel)) == sorted(data.channel_videos)

    # search: a piece of the id, the channel title, a pasted URL; case-insensitive
    assert _listed(client, q=data.other[2:9].swapcase()) == [data.other]
    assert sorted(_listed(client, q="simulated channel 00")) == sorted(data.channel_videos)
    assert _listed(client, q=f"https://youtu.be/{data.other}") == [data.other]
    assert _listed(client, q="100%_") == []  # wildcards are literal

    latest = {
        v: int(metric_series.video_observations(data.engine, v, days=1).view_count.iloc[-1])
        for v in active
    }
    by_views = _listed(client, sort="views", order="desc")
    assert by_views == sorted(active, key=lambda v: (-latest[v], v))
    listing = client.get("/api/videos", params={"sort": "views"}).json()
    assert {v["video_id"]: v["latest_views"] for v in listing["videos"]} == latest
    assert listing["simulated"] is True

    page1 = _listed(client, sort="views", order="desc", per_page=3)
    page2 = _listed(client, sort="views", order="desc", per_page=3, page=2)
    assert page1 + page2 == by_views and len(page2) == 1
    assert client.get("/api/videos", params={"per_page": 3}).json()["pages"] == 2

    html = client.get("/", params={"q": "simulated channel 00", "sort": "title", "order": "asc"})
    assert html.status_code == 200
    assert "3 videos match" in html.text and "SIMULATED DATA" in html.text
    assert html.text.count('class="video-link"') == 3
    assert 'rel="next"' not in html.text
    assert client.get("/", params={"page": 9}).status_code == 200  # past the end: empty page


# --- bad input -----------------------------------------------------------------------------

LONG = "x" * 5000


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/?status=bogus", 400, "valid: active, unavailable, removed, all"),
        ("/?status=" + LONG, 400, "invalid status"),
        ("/?sort=height", 400, "valid: added, published"),
        ("/?order=sideways", 400, "valid: asc, desc"),
        # the CLI's and the MCP server's rule and words (surfaces.Bound): ASCII digits only
        ("/?page=0", 400, "page must be an integer from 1"),
        ("/?page=two", 400, "page must be an integer"),
        ("/?page=" + "9" * 5000, 400, "page must be an integer"),
        ("/?per_page=100000", 400, "per_page must be an integer from 1 to 100"),
        ("/api/videos?page=%D9%A3", 400, "page must be an integer from 1 to 1000000 (got '٣')"),
        ("/videos/AAAAAAAAAAA?days=%D9%A3", 400, "days must be an integer from 1 to"),
        ("/?page=+3", 400, "page must be an integer"),
        ("/?channel=nope", 400, "channel must be a channel id"),
        ("/?q=" + LONG, 400, "longer than 200 characters"),
        ("/?q=a%00b", 400, "control characters"),
        ("/?" + LONG + "=1", 400, "unknown query parameter"),
        ("/?status=all&status=active", 400, "more than once"),
        ("/videos/nope", 400, "not a YouTube video id or URL"),
        ("/videos/" + LONG, 400, "not a YouTube video id or URL"),
        ("/videos/https://example.com/watch?v=AAAAAAAAAAA", 400, "is not YouTube"),
        ("/videos/AAAAAAAAAAA", 404, "is not tracked"),
        ("/api/videos/AAAAAAAAAAA", 404, "is not tracked"),
        ("/api/videos?status=bogus", 400, "invalid status"),
        ("/nowhere", 404, "no page at"),
    ],
)
def test_bad_input_is_rejected_with_a_bounded_echo(client, data, path, status, says):
    response = client.get(path)
    assert response.status_code == status
    assert says in response.text
    assert "x" * (MAX_ECHO + 1) not in response.text
    if path.startswith("/api/"):
        assert response.json()["status"] == status
    else:
        assert response.headers["content-type"].startswith("text/html")


def test_video_parameters_are_checked(client, data):
    vid = data.other
    assert client.get(f"/videos/{vid}?days=0").status_code == 400
    assert client.get(f"/videos/{vid}?days=3661").status_code == 400
    response = client.get(f"/videos/{vid}?dayz=3")
    assert "unknown query parameter 'dayz'" in unescape(response.text)
    assert client.get(f"/videos/{vid}?days=365").status_code == 200


def test_read_only_and_no_script(client, data):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = client.request(method, "/")
        assert response.status_code == 405 and "read-only" in response.text
    response = client.get(f"/videos/{data.other}")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<script" not in response.text
    assert client.head("/").status_code == 200


def test_an_unreachable_warehouse_gives_503_without_the_url(data):
    engine = get_engine("postgresql+psycopg://ytm:s3cret@127.0.0.1:9/nowhere")
    with TestClient(create_app(engine)) as broken:
        response = broken.get("/")
    assert response.status_code == 503
    assert "s3cret" not in response.text and "127.0.0.1:9" not in response.text


@pytest.mark.system
def test_python_m_serves_it(data, database_url):
    port = free_port()
    env = {**os.environ, "YTMETRICS_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ytmetrics_dagster.surfaces.dashboard",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/videos/{data.other}", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and data.other in response.text
    finally:
        server.terminate()
        server.wait(20)


@pytest.mark.system
def test_python_m_says_why_it_cannot_start():
    env = {**os.environ, "YTMETRICS_DATABASE_URL": "postgresql://ytm:s3cret@127.0.0.1:9/nowhere"}
    done = subprocess.run(
        [sys.executable, "-m", "ytmetrics_dagster.surfaces.dashboard", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot reach the warehouse" in done.stderr and "s3cret" not in done.stderr


# --- links and charts (pure) ---------------------------------------------------------------


@pytest.mark.unit
def test_links_follow_the_environment(monkeypatch):
    monkeypatch.delenv("YTMETRICS_DASHBOARD_URL", raising=False)
    monkeypatch.delenv("YTMETRICS_DASHBOARD_PORT", raising=False)
    assert links.home_url() == "http://127.0.0.1:3100"
    assert links.video_url("dQw4w9WgXcQ") == "http://127.0.0.1:3100/videos/dQw4w9WgXcQ"
    assert links.video_url("not an id") is None
    monkeypatch.setenv("YTMETRICS_DASHBOARD_PORT", "3999")
    assert links.home_url() == "http://127.0.0.1:3999"
    monkeypatch.setenv("YTMETRICS_DASHBOARD_URL", "https://dash.example.org/ytm/")
    assert links.video_url("dQw4w9WgXcQ") == "https://dash.example.org/ytm/videos/dQw4w9WgXcQ"
    monkeypatch.setenv("YTMETRICS_DASHBOARD_URL", "off")
    assert links.home_url() is None and links.video_url("dQw4w9WgXcQ") is None
    # a bad setting never fails the materialization that asks for a link
    monkeypatch.setenv("YTMETRICS_DASHBOARD_URL", "javascript:alert(1)")
    assert links.home_url() is None
    monkeypatch.setenv("YTMETRICS_DASHBOARD_URL", "http://127.0.0.1:3100")
    monkeypatch.setenv("YTMETRICS_DASHBOARD_PORT", "eighty")
    assert links.home_url() is None


def test_the_dagster_ui_links_to_the_dashboard(data):
    assert data.dagster_link == links.home_url() and data.dagster_link.startswith("http")


@pytest.mark.unit
def test_axis_ticks_fit_and_read_distinctly():
    for lo, hi in ((1_200_100, 1_200_900), (0, 950), (0, 0.4), (3_400, 125_000), (0, 3e9)):
        first, last, ticks = charts.nice_ticks(lo, hi, 7)
        assert len(ticks) <= 7 and first <= lo and last >= hi
        labels = [charts.compact_number(t, ticks[1] - ticks[0]) for t in ticks]
        assert len(set(labels)) == len(labels), labels
    start = datetime(2026, 11, 20, 3, 5, tzinfo=UTC).timestamp()
    for hours in (1, 5, 30, 100, 400, 2_000, 9_000, 40_000):
        ticks = charts.time_ticks(start, start + hours * 3600, 8)
        assert 1 <= len(ticks) <= 8, hours
        assert all(line1 for _, (line1, _) in ticks)
        assert len({line for _, (line1, line2) in ticks for line in [line1 + line2]}) == len(ticks)


@pytest.mark.unit
def test_a_gap_is_never_joined():
    at = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    obs = [
        {"observed_at": at + timedelta(hours=h), "view_count": 100 * h, "views_per_hour": None}
        for h in (0, 1, 2, 6, 7)
    ]
    svg = charts.views_chart(obs, 90)
    assert svg.count("<path") == 2 and svg.count('class="pt"') == 5


# --- in a real browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(data):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(data.engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


OVERLAPS_JS = """
() => {
  const out = {};
  for (const svg of document.querySelectorAll('svg.chart')) {
    let overlaps = 0;
    for (const axis of svg.querySelectorAll('g.axis')) {
      const boxes = [...axis.querySelectorAll('text.tick')].map(t => t.getBoundingClientRect());
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i], b = boxes[j];
          if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
            overlaps++;
        }
    }
    out[svg.id] = overlaps;
  }
  return out;
}
"""


# The flags of scripts/ui_screenshot.py; "--headless" is Playwright's to add.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@pytest.mark.system
def test_in_headless_chromium(served, data, tmp_path: Path):
    """Search, open the video, and check what a person sees: four charts with one point per
    observation, no overlapping axis labels, no console error, no request off this host."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (make test does)")
    from playwright.sync_api import sync_playwright

    vid = data.channel_videos[0]
    observations = metric_series.video_observations(data.engine, vid, days=7)
    rates = int(observations.views_per_hour.notna().sum())
    errors: list[str] = []
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requested.append(r.url))

            page.goto(served + "/")
            assert page.locator("a.video-link").count() == 4
            assert page.locator("#simulated-banner").is_visible()
            page.fill("input[name=q]", f"https://www.youtube.com/watch?v={vid}")
            page.press("input[name=q]", "Enter")
            page.wait_for_url("**/?q=*")
            assert page.locator("a.video-link").count() == 1
            page.click("a.video-link")
            page.wait_for_url(f"**/videos/{vid}")

            assert page.locator("#simulated-banner").is_visible()
            assert page.locator("#chart-views .pt").count() == len(observations)
            assert page.locator("#chart-views path.line").count() == 2  # split by the gap
            assert page.locator("#chart-rate .pt").count() == rates
            assert page.locator("#chart-rate .pt.hollow").count() == 1
            assert page.locator("#chart-launch .series.video .pt").count() >= 2
            # two other videos of the channel: no median drawn from fewer than three
            assert page.locator("#chart-launch .series.median .pt").count() == 0
            assert "fewer than 3" in page.locator("#cohort").inner_text()
            assert page.locator("#chart-milestone .pt").count() >= 3
            for chart_id in ("chart-views", "chart-rate", "chart-launch", "chart-milestone"):
                box = page.locator(f"#{chart_id}").bounding_box()
                assert box and box["width"] > 600 and box["height"] > 150, chart_id
                assert page.locator(f"#{chart_id} g.x-axis text.tick").count() >= 2
            assert page.evaluate(OVERLAPS_JS) == {
                "chart-views": 0,
                "chart-rate": 0,
                "chart-launch": 0,
                "chart-milestone": 0,
            }
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requested and all(url.startswith(served + "/") for url in requested)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
