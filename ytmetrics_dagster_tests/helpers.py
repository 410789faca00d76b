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
