"""Benchmark the result models' conversion (``ytmetrics_dagster.surfaces.results``): a read
API DataFrame of N rows (numpy integers, pandas timestamps with NaT, as the warehouse hands
them over) validated into ``VideoList`` and dumped to JSON values, as every surface does. Run
on demand; results are recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/results_benchmark.py [--rows 10000] [--repeat 7]

Pure Python: no database. Also times the import of the module and the first use of a model
(models are built on first use).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

IMPORT = (
    "import time; s = time.perf_counter(); "
    "from ytmetrics_dagster.surfaces import results; t = time.perf_counter(); "
    "results.VideoList.model_validate({'total': 0}).json_dict(); u = time.perf_counter(); "
    "print(f'{(t - s) * 1000:.0f} {(u - t) * 1000:.0f}')"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    imports = [
        subprocess.run(
            [sys.executable, "-c", IMPORT], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(args.repeat)
    ]
    print(
        f"import results: median {statistics.median(float(i) for i, _ in imports):.0f} ms; "
        f"first VideoList use: median {statistics.median(float(f) for _, f in imports):.0f} ms"
    )

    import pandas as pd

    from ytmetrics_dagster.surfaces import results

    n = args.rows
    frame = pd.DataFrame(
        {
            "video_id": [f"v{i:010d}" for i in range(n)],
            "title": ["a title"] * n,
            "channel_id": ["UC" + "a" * 22] * n,
            "channel_title": ["a channel"] * n,
            "published_at": pd.Timestamp("2026-01-01 05:00:00.5", tz="UTC"),
            "status": "active",
            "added_at": pd.Timestamp("2026-01-02", tz="UTC"),
            "last_updated": [
                pd.NaT if i % 3 == 0 else pd.Timestamp("2026-01-03", tz="UTC") for i in range(n)
            ],
            "latest_views": pd.array([i if i % 5 else None for i in range(n)], dtype="Int64"),
        }
    )
    payload = {"total": n, "offset": 0, "limit": n, "videos": frame}
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        results.VideoList.model_validate(payload).json_dict()
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(
        f"VideoList of {n:,} rows -> JSON values: median {median * 1000:.0f} ms, "
        f"best {min(timings) * 1000:.0f} ms ({n / median:,.0f} rows/s)"
    )


if __name__ == "__main__":
    main()
