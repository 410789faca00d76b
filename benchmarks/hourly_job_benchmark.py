"""Benchmark: wall time of `hourly_snapshot_job` runs under the real daemon.

    .venv/bin/python benchmarks/hourly_job_benchmark.py [--videos 100] [--runs 5]

Starts its own embedded Postgres (temporary data directory), the simulator in this process, and
the code server, webserver and daemon as separate processes (the production topology of
deploy/, `make run`'s instance); registers N simulated videos, then submits the hourly job for
the current hour R times, one after another, through the run queue. Reports per run the time
from submission to the end of the run and from the run's start (worker up) to its end, and the
time inside the snapshot step. Results are recorded in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg
import yaml
from dagster import DagsterRunStatus

from ytmetrics_dagster.defs.tags import CURRENT_HOUR_RUN_TAGS
from ytmetrics_dagster.runtime.devserver import DAGSTER_YAML
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster.youtube.simulator import SimulatedWorld, SimulatorServer
from ytmetrics_dagster_tests.dagster_processes import DagsterProcesses

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ytm-hourly-bench-"))
    pgdata = root / "pgdata"
    processes = None
    try:
        server = start_embedded_postgres(pgdata)
        warehouse = database_on_server(server, "ytmetrics", "psycopg")
        engine = get_engine(warehouse)
        upgrade(engine)
        now = datetime.now(UTC)
        ids = SimulatedWorld().find_ids(lambda p: p.is_visible(now), prefix="hb", limit=args.videos)
        with SimulatorServer() as simulator:
            env = dict(
                os.environ,
                YTMETRICS_DATABASE_URL=warehouse,
                YTMETRICS_DAGSTER_PG_URL=database_on_server(server, "dagster", "psycopg2"),
                YTMETRICS_YOUTUBE_API_URL=simulator.base_url,
                YTMETRICS_CADENCE="*:1h",
            )
            processes = DagsterProcesses(root / "dagster_home", yaml.safe_load(DAGSTER_YAML), env)
            processes.start("code_server")
            processes.wait_for_code_server()
            processes.start("webserver")
            processes.start("daemon")
            processes.wait_for_webserver()
            processes.wait_for_daemon()

            queue_registrations(engine, [(v, v) for v in ids], requested_by="benchmark")
            register = processes.submit(
                "tracked_videos_job",
                run_config={"ops": {"tracked_videos": {"config": {"refresh_active": False}}}},
            )
            processes.wait_for_status(register, FINISHED, timeout=300)

            partition = datetime.now(UTC).strftime("%Y-%m-%d-%H:00")
            rows = []
            for _ in range(args.runs):
                submitted = time.time()
                run_id = processes.submit(
                    "hourly_snapshot_job", {**CURRENT_HOUR_RUN_TAGS, "dagster/partition": partition}
                )
                run = processes.wait_for_status(run_id, FINISHED, timeout=600)
                assert run.status == DagsterRunStatus.SUCCESS, processes.log_tail()
                record = processes.instance.get_run_record_by_id(run_id)
                step = next(
                    s
                    for s in processes.instance.get_run_step_stats(run_id)
                    if s.step_key == "video_metric_snapshots"
                )
                rows.append(
                    (
                        record.end_time - submitted,
                        record.end_time - record.start_time,
                        step.end_time - step.start_time,
                    )
                )
                print(
                    "run {}: submitted->end {:.2f} s, start->end {:.2f} s, snapshot step {:.2f} s".format(
                        run_id[:8], *rows[-1]
                    ),
                    flush=True,
                )
            executor = (
                processes.instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)[0]
            ).message
            print(f"\n{args.videos} videos, {args.runs} runs; first engine event: {executor!r}")
            for label, index in (
                ("submitted -> end", 0),
                ("run start -> end", 1),
                ("snapshot step", 2),
            ):
                values = [r[index] for r in rows]
                print(
                    f"{label:18s} median {statistics.median(values):6.2f} s  "
                    f"min {min(values):6.2f} s  max {max(values):6.2f} s"
                )
    finally:
        if processes is not None:
            processes.stop_all()
        stop_embedded_postgres(pgdata)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
