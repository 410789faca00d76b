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
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from ytmetrics_dagster.warehouse import analysis, growth, queries
from ytmetrics_dagster.warehouse.embedded import (
    start_embedded_postgres,
    stop_embedded_postgres,
)
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade

LOAD_VIDEOS = """
INSERT INTO ytmetrics.videos (video_id, title, channel_id, channel_title, published_at, status, source)
SELECT :prefix || lpad(i::text, 10, '0'), 'bench ' || i,
       'UC' || lpad((i % 50)::text, 22, '0'), 'bench channel ' || (i % 50),
       CAST(:published AS timestamptz) - make_interval(hours => (i * 7) % 720), 'active', 'simulator'
FROM generate_series(1, :n) AS i
"""

# Saturating growth with a long tail; likes hidden for one video in 10, comments off for one in 12.
LOAD_SNAPSHOTS = """
INSERT INTO ytmetrics.metric_snapshots
    (video_id, snapshot_hour, observed_at, view_count, like_count, comment_count, source)
SELECT v.video_id, h, h + interval '5 minutes', g.views,
       CASE WHEN v.k % 10 = 0 THEN NULL ELSE g.views / 25 END,
       CASE WHEN v.k % 12 = 0 THEN NULL ELSE g.views / 400 END,
       'simulator'
FROM (
    SELECT video_id, published_at, CAST(substr(video_id, 2) AS bigint) AS k,
           2000 + (CAST(substr(video_id, 2) AS bigint) * 7919) % 5000000 AS ultimate,
           24 + (CAST(substr(video_id, 2) AS bigint) * 104729) % 240 AS tau
    FROM ytmetrics.videos WHERE video_id LIKE :prefix || '%'
) v
CROSS JOIN generate_series(CAST(:start AS timestamptz), CAST(:end AS timestamptz) - interval '1 hour', interval '1 hour') AS h
CROSS JOIN LATERAL (
    SELECT CAST(floor(v.ultimate * (1 - exp(-greatest(0, extract(epoch FROM h - v.published_at)) / 3600.0 / v.tau))
                      + v.ultimate * 0.1 * greatest(0, extract(epoch FROM h - v.published_at)) / 3600.0 / 8760)
                AS bigint) AS views
) g
WHERE h >= v.published_at
"""


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def load(engine, prefix: str, n: int, published: datetime, start: datetime, end: datetime) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(LOAD_VIDEOS), {"prefix": prefix, "n": n, "published": published})
        # bulk load: skip the per-row foreign-key trigger (the videos were just inserted)
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(LOAD_SNAPSHOTS), {"prefix": prefix, "start": start, "end": end})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE ytmetrics.metric_snapshots"))
        conn.execute(text("ANALYZE ytmetrics.videos"))
    return time.perf_counter() - started


def sizes(engine) -> list[tuple[str, str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT c.relname, pg_size_pretty(pg_table_size(c.oid)),
                       pg_size_pretty(pg_indexes_size(c.oid)), c.reltuples::bigint
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'ytmetrics' AND c.relkind = 'r'
                ORDER BY pg_total_relation_size(c.oid) DESC
                """
            )
        )
        return [tuple(r) for r in rows]


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

        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=args.days)
        results: list[tuple[str, str, str]] = []

        load_s = load(engine, "b", args.videos, start, start, end)
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
        n, secs = timed(growth.rebuild_daily_growth, engine, b_start, b_end)
        results.append(("30-day daily growth backfill from it", f"{n:,} rows", f"{secs:.2f} s"))

        vid = "b" + "1".zfill(10)
        timings = []
        for _ in range(30):
            _, secs = timed(queries.video_metrics, engine, vid, 365, "day")
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
