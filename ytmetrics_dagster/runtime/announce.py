"""Say where the UI and the dashboard are once both answer (a one-shot supervised program
whose output is `make run`'s terminal)."""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request

READY_TIMEOUT_SECONDS = 240.0


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ytmetrics_dagster.runtime.announce")
    parser.add_argument("--ui", required=True)
    parser.add_argument("--dashboard", required=True)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    pending = {args.ui + "/server_info", args.dashboard + "/"}
    while pending and time.monotonic() < deadline:
        pending = {url for url in pending if not answers(url)}
        if pending:
            time.sleep(0.5)
    if pending:
        print(
            f"error: no answer from {', '.join(sorted(pending))} within "
            f"{READY_TIMEOUT_SECONDS:.0f} s: see `ytmetrics status` and the logs",
            flush=True,
        )
        return 1
    print(f"Dagster UI: {args.ui}  (Ctrl-C or SIGTERM stops it)", flush=True)
    print(f"Dashboard:  {args.dashboard}", flush=True)
    print("ytmetrics status: each program's state; logs under $YTMETRICS_HOME/logs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
