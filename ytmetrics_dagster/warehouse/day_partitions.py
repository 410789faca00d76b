"""Day partitions of the big tables (``metric_snapshots``, ``video_growth_hourly``).

Why a UTC day: the hourly pipeline writes one hour at a time into the current day's partition,
so a day is written for 24 hours and then closed; a closed partition is compacted once (CLUSTER
on the primary key: a video's rows become adjacent, the index is rebuilt packed, dead tuples
of re-runs are gone). Retention drops whole days, matching the day-counted limits of the
YouTube API policies. A year is 365 partitions, pruned at plan time by every query with a
time bound; at 20,000 videos a day partition is about 40 MB.

Partitions are created ahead by the maintenance job and on demand by the writers, always
through ``ytmetrics.ensure_day_partition`` (one way to name and create them), which also
registers them in ``ytmetrics.day_partitions``; writers mark the days they write there, so
compaction knows what changed since it last ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from psycopg import sql
from sqlalchemy import Connection, Engine, text

DAY_PARTITIONED = ("metric_snapshots", "video_growth_hourly")


def _check_parent(parent: str) -> None:
    if parent not in DAY_PARTITIONED:
        raise ValueError(f"{parent!r} is not a day-partitioned table: {DAY_PARTITIONED}")


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def days_between(start: datetime, end: datetime) -> list[date]:
    """The UTC days that the window [start, end) touches."""
    first, last = day_of(start), day_of(end - timedelta(microseconds=1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def whole_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days lying entirely inside [start, end)."""
    return [
        d
        for d in days_between(start, end)
        if start <= day_start(d) and day_start(d + timedelta(days=1)) <= end
    ]


def _qualified(name: str) -> str:
    return sql.SQL("ytmetrics.{}").format(sql.Identifier(name)).as_string()


def partition_name(parent: str, day: date) -> str:
    _check_parent(parent)
    return f"{parent}_p{day:%Y%m%d}"


def ensure_partitions(conn: Connection, parent: str, days: list[date]) -> list[str]:
    """Make sure the day partitions of ``parent`` for ``days`` exist; mark them written."""
    _check_parent(parent)
    names = [
        conn.execute(
            text("SELECT ytmetrics.ensure_day_partition(:parent, :day)"),
            {"parent": parent, "day": day},
        ).scalar_one()
        for day in days
    ]
    return names


# ensure_partitions and the mark "written" in one round trip (a function of migration 0017:
# the mark is a statement of its own after the ensures, so it also sees a registration another
# transaction committed meanwhile).
_PREPARE_SQL = "SELECT ytmetrics.prepare_day_partitions(:parent, CAST(:days AS date[]))"


def prepare_window(conn: Connection, parent: str, start: datetime, end: datetime) -> list[date]:
    """Partitions for [start, end) exist and are marked written; returns the days."""
    _check_parent(parent)
    days = days_between(start, end)
    conn.execute(text(_PREPARE_SQL), {"parent": parent, "days": days}).all()
    return days


def truncate_days(conn: Connection, parent: str, days: list[date]) -> None:
    """Empty whole day partitions: TRUNCATE leaves no dead tuples behind, unlike DELETE."""
    for day in days:
        conn.exec_driver_sql("TRUNCATE " + _qualified(partition_name(parent, day)))


@dataclass(frozen=True)
class DayPartition:
    parent: str
    name: str
    day: date
    bytes: int
    compacted: bool


def day_partitions(engine: Engine, parent: str | None = None) -> list[DayPartition]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT parent, partition_name, day,
                       coalesce(pg_total_relation_size(to_regclass('ytmetrics.' || quote_ident(partition_name))), 0) AS bytes,
                       compacted_at IS NOT NULL AND compacted_at >= last_written_at AS compacted
                FROM ytmetrics.day_partitions
                WHERE CAST(:parent AS text) IS NULL OR parent = CAST(:parent AS text)
                ORDER BY parent, day
                """
            ),
            {"parent": parent},
        )
        return [
            DayPartition(r.parent, r.partition_name, r.day, int(r.bytes), r.compacted) for r in rows
        ]


@dataclass(frozen=True)
class Compaction:
    partition: str
    bytes_before: int
    bytes_after: int


def compact_closed_partitions(engine: Engine, today: date) -> list[Compaction]:
    """CLUSTER every closed day partition (day before ``today``) written since it was last
    compacted. Each CLUSTER locks only its own partition, for about a second at 20k videos."""
    done = []
    for part in day_partitions(engine):
        if part.day >= today or part.compacted:
            continue
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("SET lock_timeout = '60s'")
            started = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
            conn.exec_driver_sql(
                "CLUSTER "
                + _qualified(part.name)
                + " USING "
                + sql.Identifier(part.name + "_pkey").as_string()
            )
            conn.exec_driver_sql("ANALYZE " + _qualified(part.name))
            after = int(
                conn.execute(
                    text("SELECT pg_total_relation_size(to_regclass(:q))"),
                    {"q": "ytmetrics." + part.name},
                ).scalar_one()
            )
            # compacted as of when CLUSTER started: a write that raced it is redone next time
            conn.execute(
                text(
                    """
                    UPDATE ytmetrics.day_partitions
                    SET compacted_at = :started, bytes_before = :before, bytes_after = :after
                    WHERE partition_name = :name
                    """
                ),
                {"started": started, "before": part.bytes, "after": after, "name": part.name},
            )
        done.append(Compaction(part.name, part.bytes, after))
    return done


def drop_days_before(engine: Engine, parent: str, cutoff: date) -> list[DayPartition]:
    """Drop the day partitions of ``parent`` for days before ``cutoff``: whole days only.
    Detached CONCURRENTLY first, so readers and writers of other days are never blocked."""
    dropped = []
    for part in day_partitions(engine, parent):
        if part.day >= cutoff:
            continue
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("SET lock_timeout = '60s'")
            attached = conn.execute(
                text("SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(:q)"),
                {"q": "ytmetrics." + part.name},
            ).first()
            if attached is not None:
                mode = " FINALIZE" if attached.inhdetachpending else " CONCURRENTLY"
                conn.exec_driver_sql(
                    "ALTER TABLE "
                    + _qualified(parent)
                    + " DETACH PARTITION "
                    + _qualified(part.name)
                    + mode
                )
            conn.exec_driver_sql("DROP TABLE IF EXISTS " + _qualified(part.name))
            conn.execute(
                text("DELETE FROM ytmetrics.day_partitions WHERE partition_name = :n"),
                {"n": part.name},
            )
        dropped.append(part)
    return dropped
