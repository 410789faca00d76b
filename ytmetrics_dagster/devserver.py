"""`ytmetrics dev` (what `make run` runs): everything a fresh clone needs, then `dagster dev`.

1. the warehouse: YTMETRICS_DATABASE_URL, or the embedded Postgres under .ytmetrics/ (started
   here), migrated to head;
2. Dagster's instance: DAGSTER_HOME with a dagster.yaml that keeps runs, events and schedules
   in the same Postgres (dagster-postgres) and caps the youtube_api pool;
3. the source: YOUTUBE_API_KEY, or the YouTube simulator served from this process on
   127.0.0.1 (everything it yields is labelled simulated), with demo videos queued;
4. `dagster dev` with the daemon, so schedules and sensors run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.warehouse.engine import (
    check_connection,
    dagster_storage_url,
    get_engine,
    safe_url,
    warehouse_url,
)
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.videos import queue_registrations, status_counts

DAGSTER_YAML_MARK = "# written by `ytmetrics dev`; edit freely, remove this line to keep edits"
DAGSTER_YAML = f"""{DAGSTER_YAML_MARK}
storage:
  postgres:
    postgres_url:
      env: YTMETRICS_DAGSTER_PG_URL
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # youtube_api: API-bound steps across all runs (schedule, sensor, backfills) one at a time
    default_limit: 1
telemetry:
  enabled: false
"""


def write_dagster_yaml(dagster_home: Path) -> Path:
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    if not path.exists() or path.read_text().startswith(DAGSTER_YAML_MARK):
        path.write_text(DAGSTER_YAML)
    return path


def run_dev(port: int = 3000, demo: bool = True) -> int:
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)

    url = warehouse_url(settings)
    engine = get_engine(url)
    check_connection(engine)
    revision = upgrade(engine)
    print(f"warehouse: {safe_url(url)} (revision {revision})", flush=True)

    env["YTMETRICS_DATABASE_URL"] = url
    env["YTMETRICS_DAGSTER_PG_URL"] = dagster_storage_url(settings)
    env["YTMETRICS_HOME"] = str(settings.home)
    env["DAGSTER_HOME"] = str(settings.dagster_home)
    write_dagster_yaml(settings.dagster_home)

    simulator = None
    if settings.uses_simulator and not settings.youtube_api_url:
        from ytmetrics_dagster.youtube.simulator import Catalog, SimulatorServer

        simulator = SimulatorServer().start()
        env["YTMETRICS_YOUTUBE_API_URL"] = simulator.base_url
        print(
            f"source: SIMULATED YouTube API at {simulator.base_url} — not real data "
            "(set YOUTUBE_API_KEY to collect from YouTube)",
            flush=True,
        )
        if demo and sum(status_counts(engine).values()) == 0:
            ids = Catalog().demo_video_ids(datetime.now(UTC))
            queue_registrations(engine, [(vid, vid) for vid in ids], requested_by="demo")
            print(f"demo: queued {len(ids)} simulated videos for registration", flush=True)
    else:
        print("source: YouTube Data API v3", flush=True)

    workspace = Path.cwd() / "workspace.yaml"
    target = (
        ["-w", str(workspace)] if workspace.exists() else ["-m", "ytmetrics_dagster.definitions"]
    )
    command = [sys.executable, "-m", "dagster", "dev", *target, "-h", "127.0.0.1", "-p", str(port)]
    print(f"Dagster UI: http://127.0.0.1:{port}", flush=True)
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()
    finally:
        if simulator is not None:
            simulator.stop()
