"""Benchmark: round-trip time of one videos.list call to the simulator on a kept-alive
connection, the way the pipeline's client talks to it (one pooled ``requests.Session``).
Run on demand; results are recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/simulator_benchmark.py [--calls 200] [--ids 50]

It starts a simulator in this process on 127.0.0.1 (port 0) and stops it at the end. A
response written in two pieces (headers, then body) costs ~40 ms per call on a kept-alive
connection (Nagle's algorithm holds the body until the client's delayed ACK arrives); one
write per response does not.
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from ytmetrics_dagster.youtube.simulator import SimulatorServer
from ytmetrics_dagster.youtube.simulator.world import make_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--ids", type=int, default=50)
    args = parser.parse_args()
    ids = ",".join(make_id(f"bench:{n}") for n in range(args.ids))
    params = {"part": "statistics", "id": ids}
    with SimulatorServer("127.0.0.1", 0) as server, requests.Session() as session:
        url = server.base_url + "/videos"
        session.get(url, params=params, timeout=10).raise_for_status()  # warm-up
        timings = []
        for _ in range(args.calls):
            started = time.perf_counter()
            response = session.get(url, params=params, timeout=10)
            response.raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"{args.calls} kept-alive videos.list calls, {args.ids} ids each")
    print(
        f"mean {statistics.fmean(timings):.2f} ms  p50 {timings[len(timings) // 2]:.2f} ms  "
        f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms  max {timings[-1]:.2f} ms  "
        f"total {sum(timings) / 1000:.2f} s"
    )


if __name__ == "__main__":
    main()
