"""Where rows come from: 'youtube' (the real API) or 'simulator' (the offline stand-in).

Simulated rows must never land in a warehouse that holds real observations: an analyst could
not tell them apart in aggregates. Every writer of videos, channels and snapshots asks here
first, inside its own transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

SOURCES = ("youtube", "simulator")


class SourceMixError(RuntimeError):
    """Refused: simulated data into a warehouse that already holds real YouTube data."""


def assert_source_allowed(conn: Connection, source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if source != "simulator":
        return
    holds_real = conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM ytmetrics.videos WHERE source = 'youtube')"
            " OR EXISTS (SELECT 1 FROM ytmetrics.snapshot_batches WHERE source = 'youtube')"
            " OR EXISTS (SELECT 1 FROM ytmetrics.channels WHERE source = 'youtube')"
        )
    ).scalar_one()
    if holds_real:
        raise SourceMixError(
            "refusing to write simulated data: this warehouse already holds real YouTube data "
            "(rows with source = 'youtube'). Use a separate database for the simulator "
            "(YTMETRICS_DATABASE_URL), or collect from YouTube (YTMETRICS_SOURCE=youtube with "
            "YOUTUBE_API_KEY)."
        )
