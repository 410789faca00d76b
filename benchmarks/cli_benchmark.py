"""Benchmark the `ytmetrics` command's wall time: `--help` and three read commands (`videos`,
`metrics ID`, `quota`) against a running embedded warehouse, each run N times as a new
process, as a person at a terminal runs them. Run on demand; results are recorded in
BENCHMARKS.md.

    .venv/bin/python benchmarks/cli_benchmark.py [--runs 30] [--videos 20] [--days 7]
        [--source DIR]   # measure another checkout's package (e.g. `git archive` of main)

The warehouse is an embedded Postgres in a temporary YTMETRICS_HOME, started here the way
`make run` starts it (so every command finds it running, "warm"), migrated, and loaded with
N synthetic videos x D days of hourly observations (benchmarks/synthetic.py). Each command
runs twice untimed first (page cache, .pyc files), then N times; the figures are wall
seconds from spawning the process to its exit (median, p95, max) and the CPU seconds the
process used (user + system, median). The machine's load average is printed with them: on a
busy machine the wall figures measure the queue for a core, the CPU figures the work.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import hour_floor, load_snapshots, load_videos

from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import WAREHOUSE_DB, database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade

# The budgets of issue #21, in wall seconds.
BUDGETS = {"--help": 0.3, "read": 0.5}


def ytmetrics_command() -> list[str]:
    """The installed console script (what a person runs), else the module."""
    script = Path(sys.executable).parent / "ytmetrics"
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-m", "ytmetrics_dagster.surfaces.cli"]
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_runs(
    argv: list[str], env: dict, runs: int, warmup: int = 2
) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) of each timed run."""
    wall, cpu = [], []
    for i in range(warmup + runs):
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
        if i >= warmup:
            wall.append(elapsed)
            cpu.append(_children_cpu() - cpu_before)
    return wall, cpu


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument(
        "--source", type=Path, help="a checkout whose ytmetrics_dagster the commands run"
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="ytm-cli-bench-"))
    pgdata = home / "pgdata"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YTMETRICS_")}
    env["YTMETRICS_HOME"] = str(home)
    if args.source:
        # ahead of the editable install's finder (which sys.meta_path asks last)
        env["PYTHONPATH"] = str(args.source.resolve())
    try:
        # the server `make run` would have running, at the path the CLI resolves from the home
        os.environ["YTMETRICS_HOME"] = str(home)
        url = database_on_server(start_embedded_postgres(pgdata), WAREHOUSE_DB, "psycopg")
        engine = get_engine(url)
        upgrade(engine)
        end = hour_floor()
        load_videos(engine, "c", args.videos, end - timedelta(days=args.days + 30))
        rows, _ = load_snapshots(engine, "c", end - timedelta(days=args.days), end)
        engine.dispose()
        first_video = "c" + "1".rjust(10, "0")

        ytmetrics = ytmetrics_command()
        commands = {
            "--help": ["--help"],
            "videos": ["videos"],
            "metrics": ["metrics", first_video],
            "quota": ["quota"],
        }
        print(
            f"{' '.join(ytmetrics)}; package from {args.source or 'this checkout'}; warehouse: "
            f"{args.videos} videos x {args.days} days ({rows:,} observations); "
            f"{args.runs} runs each after 2 untimed"
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"{'command':<10} {'wall median':>11} {'p95':>6} {'max':>6} {'CPU median':>11} "
            f"{'budget':>7}  (seconds)"
        )
        failed = []
        for name, argv in commands.items():
            wall, cpu = time_runs(ytmetrics + argv, env, args.runs)
            budget = BUDGETS["--help" if name == "--help" else "read"]
            median = statistics.median(wall)
            if median >= budget:
                failed.append(name)
            print(
                f"{name:<10} {median:>11.3f} {p95(wall):>6.3f} {max(wall):>6.3f} "
                f"{statistics.median(cpu):>11.3f} {budget:>7.1f}"
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if failed:
            print(f"median over budget: {', '.join(failed)}")
        return 0
    finally:
        stop_embedded_postgres(pgdata)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
