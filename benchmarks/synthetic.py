"""Synthetic warehouse data for the benchmarks, generated inside Postgres (generate_series), so
loading millions of observations is a few set-based statements a day.

Counters follow a saturating launch with a long tail (views never decrease); likes are hidden
for one video in 10, comments off for one in 12. Observations are taken at minute 5, inserted
hour by hour in video order, as the pipeline writes them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import day_partitions

LOAD_VIDEOS = """
INSERT INTO ytmetrics.videos (video_id, title, channel_id, channel_title, published_at, status, source)
SELECT :prefix || lpad(i::text, 10, '0'), 'bench ' || i,
       'UC' || lpad((i % 50)::text, 22, '0'), 'bench channel ' || (i % 50),
       CAST(:published AS timestamptz) - make_interval(hours => (i * 7) % 720), 'active', 'simulator'
FROM generate_series(1, :n) AS i
"""

_PROFILE = """
    SELECT {key}, published_at, CAST(substr(video_id, 2) AS bigint) AS k,
           2000 + (CAST(substr(video_id, 2) AS bigint) * 7919) % 5000000 AS ultimate,
           24 + (CAST(substr(video_id, 2) AS bigint) * 104729) % 240 AS tau
    FROM ytmetrics.videos WHERE video_id LIKE :prefix || '%'
"""
_VIEWS = """
    SELECT CAST(floor(v.ultimate * (1 - exp(-greatest(0, extract(epoch FROM h - v.published_at)) / 3600.0 / v.tau))
                      + v.ultimate * 0.1 * greatest(0, extract(epoch FROM h - v.published_at)) / 3600.0 / 8760)
                AS bigint) AS views
"""

# the current schema: lean rows in day partitions
LOAD_DAY = f"""
INSERT INTO ytmetrics.metric_snapshots
    (snapshot_hour, view_count, video_key, like_count, comment_count, observed_seconds)
SELECT h, g.views, v.video_key,
       CASE WHEN v.k % 10 = 0 THEN NULL ELSE CAST(g.views / 25 AS integer) END,
       CASE WHEN v.k % 12 = 0 THEN NULL ELSE CAST(g.views / 400 AS integer) END,
       300
FROM generate_series(CAST(:start AS timestamptz), CAST(:end AS timestamptz) - interval '1 hour',
                     interval '1 hour') AS h
CROSS JOIN ({_PROFILE.format(key="video_key")}) v
CROSS JOIN LATERAL ({_VIEWS}) g
WHERE h >= v.published_at
ORDER BY h, v.video_key
"""  # noqa: S608 (constant fragments)

# the previous schema (revision 0006), for the migration benchmark
LOAD_DAY_V6 = f"""
INSERT INTO ytmetrics.metric_snapshots
    (video_id, snapshot_hour, observed_at, view_count, like_count, comment_count, source, run_id)
SELECT v.video_id, h, h + interval '5 minutes', g.views,
       CASE WHEN v.k % 10 = 0 THEN NULL ELSE g.views / 25 END,
       CASE WHEN v.k % 12 = 0 THEN NULL ELSE g.views / 400 END,
       'simulator', 'bench-run'
FROM generate_series(CAST(:start AS timestamptz), CAST(:end AS timestamptz) - interval '1 hour',
                     interval '1 hour') AS h
CROSS JOIN ({_PROFILE.format(key="video_id")}) v
CROSS JOIN LATERAL ({_VIEWS}) g
WHERE h >= v.published_at
ORDER BY h, v.video_id
"""  # noqa: S608 (constant fragments)

BATCHES = """
INSERT INTO ytmetrics.snapshot_batches
    (snapshot_hour, kind, source, run_id, observed_at, videos_due, videos_written, api_calls)
SELECT snapshot_hour, 'hour', 'simulator', 'bench-run', snapshot_hour + interval '5 minutes',
       count(*), count(*), ceil(count(*) / 50.0)
FROM ytmetrics.metric_snapshots
WHERE snapshot_hour >= :start AND snapshot_hour < :end
GROUP BY snapshot_hour
"""

# Every synthetic video is observed every hour up to the end, so its two newest observations
# are in the last two days: set-based, instead of one history lookup per video.
STATE = """
INSERT INTO ytmetrics.video_observation_state
    (video_key, last_hour, last_observed_at, last_views, last_likes, last_comments,
     prev_hour, prev_observed_at, prev_views, prev_likes, prev_comments)
SELECT video_key, snapshot_hour, snapshot_hour + make_interval(secs => observed_seconds),
       view_count, like_count, comment_count,
       prev_hour, prev_hour + make_interval(secs => prev_seconds),
       prev_views, prev_likes, prev_comments
FROM (SELECT s.*, row_number() OVER w AS rn,
             lead(s.snapshot_hour) OVER w AS prev_hour,
             lead(s.observed_seconds) OVER w AS prev_seconds,
             lead(s.view_count) OVER w AS prev_views,
             lead(s.like_count) OVER w AS prev_likes,
             lead(s.comment_count) OVER w AS prev_comments
      FROM ytmetrics.metric_snapshots s JOIN ytmetrics.videos v USING (video_key)
      WHERE v.video_id LIKE :prefix || '%'
        AND s.snapshot_hour >= CAST(:end AS timestamptz) - interval '2 days'
      WINDOW w AS (PARTITION BY s.video_key ORDER BY s.snapshot_hour DESC)) l
WHERE rn = 1
ON CONFLICT (video_key) DO NOTHING
"""


def load_videos(engine: Engine, prefix: str, n: int, published: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(text(LOAD_VIDEOS), {"prefix": prefix, "n": n, "published": published})


def _days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    day = start
    while day < end:
        nxt = min(end, (day + timedelta(days=1)).replace(hour=0))
        out.append((day, nxt))
        day = nxt
    return out


def load_snapshots(
    engine: Engine, prefix: str, start: datetime, end: datetime, *, schema_v6: bool = False
) -> tuple[int, float]:
    """Observations of the videos named ``prefix*`` for every hour of [start, end), one
    statement a day; then (current schema) the per-hour facts and the per-video state.
    Returns (rows, seconds)."""
    started = time.perf_counter()
    rows = 0
    for day_start, day_end in _days(start, end):
        with engine.begin() as conn:
            # bulk load: the videos were just inserted; skip the per-row foreign-key triggers
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            params = {"prefix": prefix, "start": day_start, "end": day_end}
            if schema_v6:
                rows += conn.execute(text(LOAD_DAY_V6), params).rowcount
            else:
                day_partitions.ensure_partitions(conn, "metric_snapshots", [day_start.date()])
                rows += conn.execute(text(LOAD_DAY), params).rowcount
                conn.execute(text(BATCHES), params)
    if not schema_v6:
        with engine.begin() as conn:
            conn.execute(text(STATE), {"prefix": prefix, "end": end})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE ytmetrics.metric_snapshots"))
        conn.execute(text("ANALYZE ytmetrics.videos"))
    return rows, time.perf_counter() - started


def hour_floor(at: datetime | None = None) -> datetime:
    return (at or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
