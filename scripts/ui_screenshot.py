"""Look at the Dagster UI as a person would: start `ytmetrics dev` on a free port with a fresh
embedded database, let the sensors register the demo videos and observe them, then drive a
headless Chromium (Playwright) to dismiss the first-visit dialog, open the asset graph of the
metrics group and save a screenshot.

    scripts/ensure_chromium.sh                      # Debian's chromium (make test runs it too)
    .venv/bin/python scripts/ui_screenshot.py [--out docs/asset-graph.png] [--wait 120]

Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds:.0f} s")


def screenshot(chromium: str, base: str, path: str, out: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS[1:])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(base + path, wait_until="networkidle")
        # Dagster shows a one-time "join the community" dialog shortly after the first load.
        with contextlib.suppress(PlaywrightTimeout):
            page.get_by_role("button", name="Skip").click(timeout=10_000)
        page.wait_for_timeout(3000)
        page.screenshot(path=str(out))
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "asset-graph.png"))
    parser.add_argument(
        "--wait", type=float, default=120, help="seconds to let sensors and runs work"
    )
    parser.add_argument(
        "--path",
        default="/locations/ytmetrics_dagster/asset-groups/metrics",
        help="UI page to capture",
    )
    parser.add_argument("--port", type=int, default=0, help="UI port (default: a free one)")
    parser.add_argument(
        "--dashboard-port", type=int, default=0, help="dashboard port (default: a free one)"
    )
    args = parser.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="ytm-ui-"))
    port = args.port or free_port()
    env = {
        **os.environ,
        "YTMETRICS_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        # the demo: the bundled simulator, a dashboard port of its own
        "YTMETRICS_SOURCE": "simulator",
        "YTMETRICS_DASHBOARD_PORT": str(args.dashboard_port or free_port()),
    }
    env.pop("YTMETRICS_DATABASE_URL", None)
    env.pop("YTMETRICS_PARTITIONS_START", None)
    ui = subprocess.Popen(
        [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli", "dev", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/server_info", 180)
        time.sleep(args.wait)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(chromium, f"http://127.0.0.1:{port}", args.path, out)
        print(f"saved {out}")
        return 0
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        try:
            ui.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
        subprocess.run(
            [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli", "db", "stop"],
            env=env,
            cwd=ROOT,
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
