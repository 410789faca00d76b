"""Serve the dashboard: python -m ytmetrics_dagster.surfaces.dashboard [--host 127.0.0.1] [--port 3100]

The warehouse is the same as everywhere else (YTMETRICS_DATABASE_URL, else the embedded
Postgres, started if needed); its schema must be current (`ytmetrics db upgrade`).
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from ytmetrics_dagster.defs.links import home_url
from ytmetrics_dagster.settings import load_api_settings, load_dashboard_settings
from ytmetrics_dagster.surfaces.api.auth import OpenReadsRefused, check_bind
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.warehouse.engine import check_connection, get_engine, warehouse_url
from ytmetrics_dagster.warehouse.migrate import require_current


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_dashboard_settings()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(
        prog="python -m ytmetrics_dagster.surfaces.dashboard",
        description="Serve the read-only ytmetrics dashboard (videos and their growth).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=settings.port, help="default $YTMETRICS_DASHBOARD_PORT or 3100"
    )
    args = parser.parse_args(argv)
    try:  # the HTTP API is served here too: open reads stay on this machine unless allowed
        check_bind(args.host, load_api_settings())
    except (OpenReadsRefused, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        engine = get_engine(warehouse_url())
        check_connection(engine)
        require_current(engine)
    except Exception as err:  # unreachable database, schema not migrated: say so and stop
        print(f"error: {err}", file=sys.stderr)
        return 1
    if settings.url is not None and home_url() is None:
        print(
            f"warning: YTMETRICS_DASHBOARD_URL={settings.url[:200]!r} is not an http(s) URL; "
            "Dagster will show no dashboard links",
            file=sys.stderr,
        )
    print(
        f"dashboard: http://{args.host}:{args.port} (read-only); HTTP API: "
        f"http://{args.host}:{args.port}/api/v1 (writes need a token)",
        flush=True,
    )
    uvicorn.run(create_app(engine), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
