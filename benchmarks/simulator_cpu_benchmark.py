"""Benchmark: CPU the simulator spends answering, without HTTP (``api.answer`` called directly),
and what the tests' id helpers cost. Run on demand; results are recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/simulator_cpu_benchmark.py [--calls 200]

Each figure is CPU time (``time.process_time``) of this process: the first answer of a kind
(cold: nothing computed yet in this process) apart from the mean of the next ``--calls``.
"""

from __future__ import annotations

import argparse
import time

from ytmetrics_dagster.youtube.simulator import api
from ytmetrics_dagster.youtube.simulator.state import SimulatorState
from ytmetrics_dagster.youtube.simulator.world import (
    SimulatedWorld,
    _uploads_index,
    make_id,
    uploads_playlist_id,
)


def _cpu_ms(fn, calls: int) -> tuple[float, float]:
    started = time.process_time()
    fn()
    cold = (time.process_time() - started) * 1000
    started = time.process_time()
    for _ in range(calls):
        fn()
    return cold, (time.process_time() - started) * 1000 / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    state = SimulatorState(quota_limit=10**9, batch_quota_limit=10**9)
    world = SimulatedWorld()
    ids = [make_id(f"bench:{n}") for n in range(50)]

    def ask(method: str, **query: str):
        def call():
            status, _body = api.answer(state, method, {k: [v] for k, v in query.items()})
            assert status == 200, status

        return call

    def normal_ids(n: int):
        # what ytmetrics_dagster_tests.helpers.normal_ids does
        def call():
            world.find_ids(
                lambda p: p.exists and p.gone_at is None and not p.likes_hidden,
                prefix="normal",
                limit=n,
            )

        return call

    started = time.process_time()
    _uploads_index()
    print(f"uploads index (once a process): {(time.process_time() - started) * 1000:.1f} ms CPU")
    cases = {
        "videos.list part=statistics, 50 ids": ask("videos", part="statistics", id=",".join(ids)),
        "videos.list part=statistics, 50 ids, prettyPrint=false": ask(
            "videos", part="statistics", id=",".join(ids), prettyPrint="false"
        ),
        "videos.list part=snippet,contentDetails,statistics, 50 ids": ask(
            "videos", part="snippet,contentDetails,statistics", id=",".join(ids)
        ),
        "videos:batchGetStats part=statistics, 50 ids": ask(
            "videos:batchGetStats", part="statistics", id=",".join(ids)
        ),
        "playlistItems uploads of channel 3, 50 a page": ask(
            "playlistItems",
            part="snippet,contentDetails",
            playlistId=uploads_playlist_id(3),
            maxResults="50",
        ),
        "channels part=statistics, channel 0 (every upload summed)": ask(
            "channels", part="snippet,statistics", forHandle="@simchannel00"
        ),
        "find_ids: 60 normal ids (test helper)": normal_ids(60),
    }
    width = max(map(len, cases))
    print(f"{'case':<{width}}  {'first':>9}  {'then, mean of ' + str(args.calls):>18}")
    for name, call in cases.items():
        cold, warm = _cpu_ms(call, args.calls)
        print(f"{name:<{width}}  {cold:7.2f} ms  {warm:15.3f} ms")


if __name__ == "__main__":
    main()
