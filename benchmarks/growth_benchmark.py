"""Benchmark the derived tables at scale: a year of hourly snapshots for 2,000 videos
(17.5 M rows, bulk-loaded) and 24 hours for 20,000 more. Run on demand; results are recorded
in BENCHMARKS.md.

    .venv/bin/python benchmarks/growth_benchmark.py [--videos 2000] [--day-videos 20000]

Synthetic counters are generated inside Postgres (generate_series), so loading is a few set-
based statements; every measured operation is the production code path (warehouse modules).
It uses its own embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import load_snapshots, load_videos

from ytmetrics_dagster.warehouse import analysis, day_partitions, growth, metric_series
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def load(engine, prefix: str, n: int, published: datetime, start: datetime, end: datetime) -> float:
    load_videos(engine, prefix, n, published)
    _, seconds = load_snapshots(engine, prefix, start, end)
    return seconds


def sizes(engine) -> list[tuple[str, str, str, int]]:
    """Per table (day partitions summed into their parent): table size, index size, rows."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT coalesce(p.relname, c.relname) AS name,
                       pg_size_pretty(sum(pg_table_size(c.oid))),
                       pg_size_pretty(sum(pg_indexes_size(c.oid))),
                       CAST(sum(greatest(c.reltuples, 0)) AS bigint)
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
                LEFT JOIN pg_class p ON p.oid = i.inhparent
                WHERE n.nspname = 'ytmetrics' AND c.relkind = 'r'
                GROUP BY 1
                ORDER BY sum(pg_total_relation_size(c.oid)) DESC
                """
            )
        )
        return [tuple(r) for r in rows]


def growth_table_bytes(engine) -> int:
    """Heap + indexes of video_growth_hourly, summed over its day day_partitions."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i"
                " WHERE i.inhparent = 'ytmetrics.video_growth_hourly'::regclass"
            )
        ).scalar_one()


def dead_tuples(engine) -> int:
    """Dead tuples in video_growth_hourly's partitions, by the statistics collector."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables"
                " WHERE schemaname = 'ytmetrics' AND relname LIKE 'video_growth_hourly%'"
            )
        ).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--day-videos", type=int, default=20000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ytm-growth-bench-"))
    try:
        server = start_embedded_postgres(root / "pgdata")
        engine = get_engine(database_on_server(server, "ytmetrics_bench", "psycopg"))
        upgrade(engine)

        # whole UTC days: the daily tables are rebuilt by day
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = end - timedelta(days=args.days)
        results: list[tuple[str, str, str]] = []

        load_s = load(engine, "b", args.videos, start, start, end)
        day_partitions.compact_closed_partitions(engine, end.date() + timedelta(days=1))
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT count(*) FROM ytmetrics.metric_snapshots")
            ).scalar_one()
        results.append(
            (
                f"bulk load: {args.videos:,} videos x {args.days} days hourly",
                f"{rows:,} rows",
                f"{load_s:.1f} s ({rows / load_s:,.0f} rows/s)",
            )
        )

        b_start = end - timedelta(days=31)
        b_end = b_start + timedelta(days=30)
        n, secs = timed(growth.rebuild_hourly_growth, engine, b_start, b_end)
        results.append(
            (
                f"30-day hourly growth backfill, {args.videos:,} videos (one run)",
                f"{n:,} rows",
                f"{secs:.2f} s (target <= 30 s)",
            )
        )
        # the same window again: whole days are replaced (TRUNCATE of their partitions), so the
        # table does not grow and no dead tuples are left behind
        size_before = growth_table_bytes(engine)
        again, secs = timed(growth.rebuild_hourly_growth, engine, b_start, b_end)
        size_after = growth_table_bytes(engine)
        results.append(
            (
                "the same hourly backfill again (replaces it)",
                f"{again:,} rows",
                f"{secs:.2f} s; table {size_before / 2**20:,.0f} MB before, "
                f"{size_after / 2**20:,.0f} MB after, {dead_tuples(engine):,} dead tuples",
            )
        )
        n, secs = timed(growth.rebuild_daily_growth, engine, b_start, b_end)
        results.append(("30-day daily growth backfill from it", f"{n:,} rows", f"{secs:.2f} s"))
        # a re-run replaces exactly the same days (no duplicate rows, no error)
        again, secs = timed(growth.rebuild_daily_growth, engine, b_start, b_end)
        assert again == n, (again, n)
        results.append(
            ("the same daily backfill again (replaces it)", f"{again:,} rows", f"{secs:.2f} s")
        )

        vid = "b" + "1".zfill(10)
        timings = []
        for _ in range(30):
            _, secs = timed(metric_series.video_metrics, engine, vid, 365, "day")
            timings.append(secs * 1000)
        results.append(
            (
                "video_metrics(one video, 365 days, day)",
                "30 calls",
                f"p50 {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms (target p50 <= 50 ms)",
            )
        )

        counts, secs = timed(analysis.rebuild_launch_curves, engine, end)
        results.append(
            (
                f"launch curves, {args.videos:,} videos x 6 ages + channel medians",
                f"{counts['video_rows']:,} rows",
                f"{secs:.2f} s (target <= 10 s)",
            )
        )
        n, secs = timed(analysis.rebuild_milestones, engine, end)
        results.append(
            (f"milestone projections, {args.videos:,} videos", f"{n:,} rows", f"{secs:.2f} s")
        )

        day = end - timedelta(days=2)
        day_start = day.replace(hour=0)
        load_s = load(
            engine,
            "d",
            args.day_videos,
            day_start - timedelta(days=3),
            day_start,
            day_start + timedelta(days=1),
        )
        results.append(
            (
                f"bulk load: {args.day_videos:,} more videos x 24 h",
                f"{args.day_videos * 24:,} rows",
                f"{load_s:.1f} s",
            )
        )
        n, secs = timed(
            growth.rebuild_hourly_growth, engine, day_start, day_start + timedelta(days=1)
        )
        results.append(
            (
                f"hourly growth for that day ({args.day_videos + args.videos:,} videos x 24 h)",
                f"{n:,} rows",
                f"{secs:.2f} s",
            )
        )
        n, secs = timed(
            growth.rebuild_daily_growth, engine, day_start, day_start + timedelta(days=1)
        )
        results.append(
            (
                f"daily growth for that day ({args.day_videos + args.videos:,} videos)",
                f"{n:,} rows",
                f"{secs:.2f} s (target <= 5 s)",
            )
        )

        print(f"# growth benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print()
        print("| operation | size | time |")
        print("|---|---:|---:|")
        for op, size, secs in results:
            print(f"| {op} | {size} | {secs} |")
        print()
        print("| table | table size | index size | rows (estimate) |")
        print("|---|---:|---:|---:|")
        for name, table, index, tuples in sizes(engine):
            print(f"| {name} | {table} | {index} | {tuples:,} |")
    finally:
        stop_embedded_postgres(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
