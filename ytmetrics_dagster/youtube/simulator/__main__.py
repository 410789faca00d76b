"""Serve the YouTube simulator standalone: python -m ytmetrics_dagster.youtube.simulator"""

from __future__ import annotations

import argparse
import contextlib

from ytmetrics_dagster.youtube.simulator.server import SimulatorServer, SimulatorState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve the simulated YouTube Data API v3 on 127.0.0.1."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--quota", type=int, default=10_000, help="daily quota units")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per call")
    args = parser.parse_args(argv)
    state = SimulatorState(quota_limit=args.quota, latency_seconds=args.latency_ms / 1000.0)
    server = SimulatorServer(args.host, args.port, state)
    print(f"SIMULATED YouTube Data API v3 at {server.base_url} (not real data)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
