"""Test helpers: find simulated videos with given traits (deterministic)."""

from __future__ import annotations

from datetime import UTC, datetime

from ytmetrics_dagster.youtube.simulator import Catalog

CATALOG = Catalog()
# Partitions the tests materialize: well in the past, after PARTITIONS_START.
DAY = datetime(2026, 11, 20, tzinfo=UTC)


def steady(p) -> bool:
    """Exists, published before the test window, never goes away."""
    return p.exists and p.gone_at is None and p.published_at < datetime(2026, 11, 10, tzinfo=UTC)


def find(predicate, limit: int = 1, prefix: str = "test") -> list[str]:
    return CATALOG.find_ids(predicate, prefix=prefix, limit=limit)


def normal_ids(n: int) -> list[str]:
    return find(lambda p: steady(p) and not p.likes_hidden and not p.comments_disabled, n, "normal")


def hidden_likes_id() -> str:
    return find(lambda p: steady(p) and p.likes_hidden and not p.comments_disabled, 1, "hidden")[0]


def comments_off_id() -> str:
    return find(
        lambda p: steady(p) and p.comments_disabled and not p.likes_hidden, 1, "nocomments"
    )[0]


def nonexistent_id() -> str:
    return find(lambda p: not p.exists, 1, "ghost")[0]


def current_hour() -> datetime:
    """The hour in progress, waiting out its last seconds so a test that observes "now" does
    not straddle an hour boundary."""
    import time
    from datetime import timedelta

    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    left = (hour + timedelta(hours=1) - now).total_seconds()
    if left < 30:
        time.sleep(left + 1)
        hour += timedelta(hours=1)
    return hour
