"""Retention by policy: how long observations and what is derived from them are kept.

Off by default (keep everything). The YouTube API Services Developer Policies limit how long
data obtained with an API key may be stored (statistics: 30 days, unless the project has been
approved for longer storage in a compliance audit; see
https://developers.google.com/youtube/terms/developer-policies, "Refreshing, Storing, and
Displaying API Data"). A deployment that collects from YouTube must configure this to what
its own approval allows; simulated data has no such limit.

Raw snapshots and derived tables are configured separately: derived tables can be kept
shorter (they can be recomputed) or, where policy allows aggregates, longer. Whole UTC days
are dropped: the day partitions of ``metric_snapshots`` and ``video_growth_hourly`` are
detached and dropped (no row-by-row DELETE, no bloat); the small daily tables lose their rows
for those days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse import day_partitions
from ytmetrics_dagster.warehouse.day_partitions import day_start


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep (None: forever). A day is kept while it is within the last N days."""

    snapshot_days: int | None = None
    derived_days: int | None = None

    def __post_init__(self) -> None:
        for name in ("snapshot_days", "derived_days"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"retention {name} must be at least 1 day, got {value}")

    @property
    def enabled(self) -> bool:
        return self.snapshot_days is not None or self.derived_days is not None

    def cutoff(self, days: int | None, today: date) -> date | None:
        """The first day kept: days before it are dropped."""
        return None if days is None else today - timedelta(days=days - 1)


@dataclass
class RetentionResult:
    snapshot_cutoff: date | None = None
    derived_cutoff: date | None = None
    dropped_partitions: list[str] = field(default_factory=list)
    deleted_rows: dict[str, int] = field(default_factory=dict)


def apply_retention(engine: Engine, policy: RetentionPolicy, today: date) -> RetentionResult:
    result = RetentionResult(
        snapshot_cutoff=policy.cutoff(policy.snapshot_days, today),
        derived_cutoff=policy.cutoff(policy.derived_days, today),
    )
    if result.snapshot_cutoff is not None:
        cutoff = result.snapshot_cutoff
        result.dropped_partitions += [
            p.name for p in day_partitions.drop_days_before(engine, "metric_snapshots", cutoff)
        ]
        with engine.begin() as conn:
            start = day_start(cutoff)
            result.deleted_rows["snapshot_batches"] = conn.execute(
                text("DELETE FROM ytmetrics.snapshot_batches WHERE snapshot_hour < :t"),
                {"t": start},
            ).rowcount
            result.deleted_rows["missed_hours"] = conn.execute(
                text("DELETE FROM ytmetrics.missed_hours WHERE snapshot_hour < :t"), {"t": start}
            ).rowcount
            # the per-video record holds counters too: an observation older than the cutoff is
            # forgotten there as well (the next observation starts the video afresh)
            conn.execute(
                text(
                    """
                    UPDATE ytmetrics.video_observation_state
                    SET prev_hour = NULL, prev_observed_at = NULL, prev_views = NULL,
                        prev_likes = NULL, prev_comments = NULL
                    WHERE prev_hour < :t AND last_hour >= :t
                    """
                ),
                {"t": start},
            )
            result.deleted_rows["video_observation_state"] = conn.execute(
                text("DELETE FROM ytmetrics.video_observation_state WHERE last_hour < :t"),
                {"t": start},
            ).rowcount
    if result.derived_cutoff is not None:
        cutoff = result.derived_cutoff
        result.dropped_partitions += [
            p.name for p in day_partitions.drop_days_before(engine, "video_growth_hourly", cutoff)
        ]
        with engine.begin() as conn:
            for table in ("video_growth_daily", "channel_growth_daily"):
                # table names from the fixed tuple above, never from input
                result.deleted_rows[table] = conn.execute(
                    text("DELETE FROM ytmetrics." + table + " WHERE day < :d"),  # noqa: S608
                    {"d": cutoff},
                ).rowcount
    return result
