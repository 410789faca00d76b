"""Benchmark the storage of years of data (issue #11). Run on demand; figures are recorded in
BENCHMARKS.md.

    .venv/bin/python benchmarks/storage_benchmark.py [--videos 2000] [--days 365]
        [--week-videos 20000] [--step-videos 20000] [--step-history-days 1 365]
        [--skip year,week,step]

- year: a year of hourly snapshots for 2,000 videos (17.52 M rows) loaded into the previous
  schema (revision 0006), measured, migrated to the current one (timed), measured, compacted
  (the upkeep job's CLUSTER, timed), measured again; then a month dropped by retention (timed)
  and a backup and restore of the rest (timed, row counts compared).
- week: a week for 20,000 videos more (3.36 M rows), measured.
- step: the snapshot step's own database work at 20,000 videos with 1 day and with a year of
  history behind it: who is due, the write of the hour (DELETE + COPY + per-video state),
  hourly growth of the hour, the asset checks of the hour and the capacity counts; three
  consecutive hours each, the median reported.

Everything runs in its own embedded Postgres in a temporary directory; observations are
generated inside Postgres (benchmarks/synthetic.py); every timed operation is production code.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import hour_floor, load_snapshots, load_videos

from ytmetrics_dagster.domain.cadence import parse_cadence
from ytmetrics_dagster.settings import Settings
from ytmetrics_dagster.warehouse import day_partitions, growth, quality, snapshots
from ytmetrics_dagster.warehouse.backup import backup, embedded_bin_dir, restore
from ytmetrics_dagster.warehouse.capacity import capacity_counts
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster.warehouse.retention import RetentionPolicy, apply_retention
from ytmetrics_dagster.warehouse.videos import due_video_ids
from ytmetrics_dagster.youtube.models import VideoStatistics

MB = 1024 * 1024


def table_size(engine, table: str = "metric_snapshots") -> dict:
    """Heap (with TOAST) and index bytes of a table, summed over its partitions if any, and
    the rows of metric_snapshots."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                WITH rels AS (
                    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'ytmetrics' AND c.relname = :t AND c.relkind = 'r'
                    UNION ALL
                    SELECT i.inhrelid FROM pg_inherits i
                    JOIN pg_class p ON p.oid = i.inhparent
                    JOIN pg_namespace n ON n.oid = p.relnamespace
                    WHERE n.nspname = 'ytmetrics' AND p.relname = :t
                )
                SELECT coalesce(sum(pg_table_size(oid)), 0) AS heap,
                       coalesce(sum(pg_indexes_size(oid)), 0) AS idx,
                       count(*) AS relations
                FROM rels
                """
            ),
            {"t": table},
        ).one()
        rows = conn.execute(text("SELECT count(*) FROM ytmetrics.metric_snapshots")).scalar_one()
    return {
        "heap": int(row.heap),
        "index": int(row.idx),
        "rows": int(rows),
        "relations": int(row.relations),
    }


def size_row(label: str, s: dict) -> str:
    per_row = (s["heap"] + s["index"]) / max(s["rows"], 1)
    return (
        f"| {label} | {s['rows']:,} | {s['heap'] / MB:,.0f} MB | {s['index'] / MB:,.0f} MB | "
        f"{s['heap'] / max(s['rows'], 1):.1f} | {s['index'] / max(s['rows'], 1):.1f} | **{per_row:.1f}** |"
    )


SIZE_HEADER = (
    "| state | rows | heap | indexes | heap B/row | index B/row | total B/row |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def settings_for(url: str, home: Path) -> Settings:
    return Settings(database_url=url, youtube_api_key=None, youtube_api_url=None, home=home)


def year_phase(server: str, root: Path, args) -> list[str]:
    out = ["### A year for 2,000 videos: previous schema, migration, compaction", ""]
    engine = get_engine(database_on_server(server, "bench_year", "psycopg"))
    upgrade(engine, "0006")
    end = hour_floor().replace(hour=0)
    start = end - timedelta(days=args.days)
    load_videos(engine, "y", args.videos, start)
    rows, load_s = load_snapshots(engine, "y", start, end, schema_v6=True)
    print(f"loaded {rows:,} rows (previous schema) in {load_s:.0f} s", flush=True)
    before = table_size(engine, "metric_snapshots")
    _, migrate_s = timed(upgrade, engine)
    print(f"migrated in {migrate_s:.0f} s", flush=True)
    migrated = table_size(engine, "metric_snapshots")
    compacted_parts, compact_s = timed(
        day_partitions.compact_closed_partitions, engine, datetime.now(UTC).date()
    )
    print(f"compacted {len(compacted_parts)} partitions in {compact_s:.0f} s", flush=True)
    compacted = table_size(engine, "metric_snapshots")
    out += [
        SIZE_HEADER,
        size_row("previous schema (one heap, 2 b-trees)", before),
        size_row(f"migrated ({migrated['relations'] - 1} day partitions, hour-major)", migrated),
        size_row("compacted (CLUSTER of each closed day)", compacted),
        "",
        "| operation | time |",
        "|---|---:|",
        f"| bulk load, previous schema ({rows:,} rows) | {load_s:,.0f} s |",
        f"| migration 0006 → head (copy into partitions, facts, state) | {migrate_s:,.0f} s |",
        f"| compaction of {len(compacted_parts)} closed day partitions | {compact_s:,.0f} s |",
    ]

    # retention: drop the oldest month
    policy = RetentionPolicy(snapshot_days=args.days - 30)
    result, retention_s = timed(apply_retention, engine, policy, datetime.now(UTC).date())
    out.append(
        f"| retention: drop a month ({len(result.dropped_partitions)} day partitions) | "
        f"{retention_s:.2f} s |"
    )
    after_retention = table_size(engine, "metric_snapshots")

    # backup and restore what is left
    os.environ["YTMETRICS_PG_BIN"] = str(embedded_bin_dir())
    url = database_on_server(server, "bench_year", "psycopg")
    dump = root / "year.dump"
    done, backup_s = timed(backup, dump, settings_for(url, root))
    restore_url = database_on_server(server, "bench_restore", "psycopg")
    _, restore_s = timed(restore, dump, settings=settings_for(restore_url, root))
    restored = table_size(get_engine(restore_url), "metric_snapshots")
    same = restored["rows"] == after_retention["rows"]
    out += [
        f"| backup (`ytmetrics db backup`, {after_retention['rows']:,} rows) | {backup_s:,.0f} s, "
        f"{done.size_bytes / MB:,.0f} MB |",
        f"| restore into an empty database (`ytmetrics db restore`) | {restore_s:,.0f} s "
        f"({'same row count' if same else 'ROW COUNTS DIFFER'}) |",
        "",
    ]
    return out


def week_phase(server: str, args, *, on_year: bool) -> list[str]:
    engine = get_engine(database_on_server(server, "bench_year", "psycopg"))
    if not on_year:
        upgrade(engine)
    end = hour_floor().replace(hour=0)
    start = end - timedelta(days=7)
    load_videos(engine, "w", args.week_videos, start)
    rows, load_s = load_snapshots(engine, "w", start, end)
    day_partitions.compact_closed_partitions(engine, datetime.now(UTC).date())
    total = table_size(engine, "metric_snapshots")
    return [
        f"### Plus a week for {args.week_videos:,} videos ({rows:,} rows, loaded in {load_s:.0f} s)",
        "",
        SIZE_HEADER,
        size_row("the year and the week, compacted" if on_year else "the week, compacted", total),
        "",
    ]


STEP_OPS = ("who is due", "write the hour", "hourly growth", "checks", "capacity counts")


def step_work(engine, hour: datetime) -> dict[str, float]:
    """One hour of the snapshot step's own database work (the API fetch excluded)."""
    cadence = parse_cadence("*:1h")
    t = {}
    ids, t["who is due"] = timed(
        due_video_ids, engine, hour, hour + timedelta(minutes=5), cadence.tiers_json(), 12
    )
    with engine.connect() as conn:
        last = dict(
            conn.execute(
                text(
                    "SELECT v.video_id, s.last_views FROM ytmetrics.videos v"
                    " JOIN ytmetrics.video_observation_state s USING (video_key)"
                    " WHERE v.video_id = ANY(:ids)"
                ),
                {"ids": ids},
            ).all()
        )
    observations = [
        VideoStatistics(v, last.get(v, 0) + 100, (last.get(v, 0) + 100) // 25, None) for v in ids
    ]
    _, t["write the hour"] = timed(
        snapshots.replace_snapshot_partition,
        engine,
        hour,
        observations,
        observed_at=hour + timedelta(minutes=5),
        source="simulator",
        videos_due=len(ids),
    )
    _, t["hourly growth"] = timed(
        growth.rebuild_hourly_growth, engine, hour, hour + timedelta(hours=1)
    )

    def checks():
        end = hour + timedelta(hours=1)
        quality.hour_coverage(engine, hour, end)
        quality.observations_outside_their_hour(engine, hour, end)
        quality.source_conflicts(engine, hour, end)
        quality.growth_differences(engine, hour, end)

    _, t["checks"] = timed(checks)
    _, t["capacity counts"] = timed(capacity_counts, engine, cadence.tiers_json(), hour)
    t["rows"] = len(ids)
    return t


def step_phase(server: str, args) -> list[str]:
    out = [
        f"### The snapshot step's database work at {args.step_videos:,} videos, by history length",
        "",
        "Median of three consecutive hours; seconds. The API fetch is not included (see the "
        "snapshot benchmark).",
        "",
        "| history | rows stored | " + " | ".join(STEP_OPS) + " | total |",
        "|---|---:|" + "---:|" * (len(STEP_OPS) + 1),
    ]
    for days in args.step_history_days:
        engine = get_engine(database_on_server(server, f"bench_step_{days}d", "psycopg"))
        upgrade(engine)
        end = hour_floor()
        start = end - timedelta(days=days)
        load_videos(engine, "s", args.step_videos, start - timedelta(days=30))
        stored, load_s = load_snapshots(engine, "s", start, end)
        print(f"step: {days} d of history, {stored:,} rows loaded in {load_s:.0f} s", flush=True)
        day_partitions.compact_closed_partitions(engine, datetime.now(UTC).date())
        runs = [step_work(engine, end + timedelta(hours=h)) for h in range(3)]
        medians = {op: statistics.median(r[op] for r in runs) for op in STEP_OPS}
        out.append(
            f"| {days} day{'s' if days != 1 else ''} | {stored:,} | "
            + " | ".join(f"{medians[op]:.3f}" for op in STEP_OPS)
            + f" | **{sum(medians.values()):.3f}** |"
        )
        print(f"step: {days} d measured: {out[-1]}", flush=True)
    out.append("")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--week-videos", type=int, default=20000)
    parser.add_argument("--step-videos", type=int, default=20000)
    parser.add_argument("--step-history-days", type=int, nargs="+", default=[1, 365])
    parser.add_argument("--skip", default="", help="comma-separated phases to skip: year,week,step")
    args = parser.parse_args()
    skip = {s for s in args.skip.split(",") if s}

    root = Path(tempfile.mkdtemp(prefix="ytm-storage-bench-"))
    pgdata = root / "pgdata"
    started = datetime.now(UTC)
    lines = [f"{started:%Y-%m-%d %H:%M} UTC, embedded PostgreSQL 18:", ""]
    try:
        server = start_embedded_postgres(pgdata)
        if "year" not in skip:
            lines += year_phase(server, root, args)
        if "week" not in skip:
            # on top of the year when it ran, else on its own
            lines += week_phase(server, args, on_year="year" not in skip)
        if "step" not in skip:
            lines += step_phase(server, args)
    finally:
        print("\n".join(lines), flush=True)
        stop_embedded_postgres(pgdata)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
