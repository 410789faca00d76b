"""Screenshot the dashboard as a person sees it, for the README (docs/dashboard.png).

A fresh embedded Postgres in a temporary folder, the simulator on 127.0.0.1, the demo videos
plus the newest uploads of @simchannel00 registered and observed over the last 48 hours by
real materializations (snapshots, hourly growth, launch curves, milestones), the dashboard
served by uvicorn on a free port, and Debian's headless Chromium driven by Playwright to a
video page. Nothing leaves the machine.

    scripts/ensure_chromium.sh
    .venv/bin/python scripts/dashboard_screenshot.py [--out docs/dashboard.png]
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

import dagster as dg
import uvicorn

from ytmetrics_dagster.dashboard.app import create_app
from ytmetrics_dagster.defs.assets.analysis import (
    video_launch_curves,
    video_milestone_projections,
)
from ytmetrics_dagster.defs.assets.growth import video_growth_hourly
from ytmetrics_dagster.defs.assets.snapshots import video_metric_snapshots
from ytmetrics_dagster.defs.assets.videos import tracked_videos
from ytmetrics_dagster.defs.resources import WarehouseResource, YouTubeResource
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster.youtube.simulator import Catalog, SimulatorServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_screenshot import CHROMIUM_FLAGS, free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
HOURS = 48


def hour_range(first: datetime, last: datetime) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.strftime("%Y-%m-%d-%H:%M"),
        "dagster/asset_partition_range_end": last.strftime("%Y-%m-%d-%H:%M"),
    }


def build_history(database_url: str, simulator: SimulatorServer, now: datetime) -> str:
    """Register and observe the videos; return the id of the video to show."""
    engine = get_engine(database_url)
    catalog = Catalog()
    channel = [p for p in catalog.uploads(0, now) if p.gone_at is None][:4]
    ids = catalog.demo_video_ids(now) + [p.video_id for p in channel]
    queue_registrations(engine, [(v, v) for v in ids], requested_by="demo")
    resources = {
        "youtube": YouTubeResource(source="simulator", base_url=simulator.base_url),
        "warehouse": WarehouseResource(database_url=database_url),
    }
    last = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    window = hour_range(last - timedelta(hours=HOURS - 1), last)
    for assets, tags in (
        ([tracked_videos], {}),
        ([video_metric_snapshots], window),
        ([video_growth_hourly], window),
        ([video_launch_curves, video_milestone_projections], {}),
    ):
        assert dg.materialize(assets, resources=resources, tags=tags).success
    # the channel's upload that passed 24 h most recently: its launch curve meets the median
    shown = [p for p in channel if now - p.published_at > timedelta(hours=26)]
    return (shown or channel)[0].video_id


def screenshot(base: str, video_id: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/videos/{video_id}", wait_until="networkidle")
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "dashboard.png"))
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
        video_id = build_history(database_url, simulator, datetime.now(UTC))

        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(engine),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(f"http://127.0.0.1:{port}", video_id, out)
        print(f"saved {out} (video {video_id})")
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
