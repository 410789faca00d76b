"""Screenshot the dashboard as a person sees it, for the README and docs/analysis.md:
docs/dashboard.png (a video page), docs/dashboard-list.png (the list), docs/dashboard-compare.png
(the comparison page) and docs/dashboard-channel.png (a channel page).

A fresh embedded Postgres in a temporary folder, the simulator on 127.0.0.1, the demo videos
plus the newest uploads of @simchannel00 (tracked as a channel) registered and observed over
the last 72 hours by real materializations (snapshots, hourly growth, channel statistics,
launch curves, milestones), the dashboard served by uvicorn on a free port (``--port``), and
Debian's headless Chromium driven by Playwright. Nothing leaves the machine.

    scripts/ensure_chromium.sh
    .venv/bin/python scripts/dashboard_screenshot.py [--out-dir docs] [--port 0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("YTMETRICS_SOURCE", "simulator")
# the partitions start before the history built below (no warehouse is read at import)
os.environ.setdefault(
    "YTMETRICS_PARTITIONS_START",
    (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%d"),
)

import dagster as dg
import uvicorn

from ytmetrics_dagster.defs.channels.assets import channel_statistics
from ytmetrics_dagster.defs.growth.analysis import (
    video_launch_curves,
    video_milestone_projections,
)
from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.warehouse.channels import upsert_channel
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster.youtube.simulator import SimulatedWorld, SimulatorServer
from ytmetrics_dagster.youtube.simulator.world import channel_id, channel_info

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_screenshot import CHROMIUM_FLAGS, free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
HOURS = 72


def hour_range(first: datetime, last: datetime) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.strftime("%Y-%m-%d-%H:%M"),
        "dagster/asset_partition_range_end": last.strftime("%Y-%m-%d-%H:%M"),
    }


def build_history(database_url: str, simulator: SimulatorServer, now: datetime) -> str:
    """Register and observe the videos; return the id of the video to show."""
    engine = get_engine(database_url)
    catalog = SimulatedWorld()
    channel = [p for p in catalog.uploads(0, now) if p.gone_at is None][:7]
    ids = catalog.demo_video_ids(now) + [p.video_id for p in channel]
    queue_registrations(engine, [(v, v) for v in ids], requested_by="demo")
    upsert_channel(
        engine,
        channel_info(0),
        source="simulator",
        now=now,
    )
    resources = {
        "youtube": YouTubeResource(source="simulator", base_url=simulator.base_url),
        "warehouse": WarehouseResource(database_url=database_url),
        "clock": ClockResource(),
    }
    last = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    window = hour_range(last - timedelta(hours=HOURS - 1), last)
    for assets, tags in (
        ([tracked_videos], {}),
        ([video_metric_snapshots], window),
        ([video_growth_hourly], window),
        ([channel_statistics], window),
        ([video_launch_curves, video_milestone_projections], {}),
    ):
        assert dg.materialize(assets, resources=resources, tags=tags).success
    # the channel's upload that passed 24 h most recently: its launch curve meets the median
    shown = [p for p in channel if now - p.published_at > timedelta(hours=26)]
    return (shown or channel)[0].video_id, [p.video_id for p in channel]


def screenshot(base: str, pages: dict[str, str], out_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name, path in pages.items():
                page.goto(base + path, wait_until="networkidle")
                page.screenshot(path=str(out_dir / name), full_page=True)
                print(f"saved {out_dir / name} ({path})")
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out-dir", default=str(ROOT / "docs"))
    parser.add_argument("--port", type=int, default=0, help="dashboard port (default: free)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: run scripts/ensure_chromium.sh", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="ytm-dash-"))
    pgdata = home / "pgdata"
    simulator = SimulatorServer().start()
    server = engine = None
    try:
        database_url = database_on_server(start_embedded_postgres(pgdata), "ytmetrics", "psycopg")
        engine = get_engine(database_url)
        upgrade(engine)
        video_id, siblings = build_history(database_url, simulator, datetime.now(UTC))

        port = args.port or free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(engine),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the dashboard could not start on port {port}")
            time.sleep(0.05)
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        compared = ",".join([video_id, *[v for v in siblings if v != video_id][:3]])
        pages = {
            "dashboard.png": f"/videos/{video_id}",
            "dashboard-list.png": "/?sort=gained_24h",
            "dashboard-compare.png": f"/compare?videos={compared}&age_days=3&days=3",
            "dashboard-channel.png": f"/channels/{channel_id(0)}?days=3",
        }
        screenshot(f"http://127.0.0.1:{port}", pages, out_dir)
        return 0
    finally:
        if server is not None:
            server.should_exit = True
        simulator.stop()
        if engine is not None:
            engine.dispose()
        stop_embedded_postgres(pgdata)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
