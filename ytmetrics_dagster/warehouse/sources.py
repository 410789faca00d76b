"""Where rows come from: 'youtube' (the real API) or 'simulator' (the offline stand-in).

A warehouse holds one or the other, never both: an analyst could not tell them apart in
aggregates. Every writer of videos, channels and snapshots asks here first, inside its own
transaction (and `ytmetrics dev` before it starts anything).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

SOURCES = ("youtube", "simulator")


class SourceMixError(RuntimeError):
    """Refused: data of one source into a warehouse that already holds the other's."""


# An hour's batch that wrote no observation (nothing due, or nothing tracked yet: no call was
# made, so its label is only the configured source) holds no data of either source.
_HOLDS = """
SELECT EXISTS (SELECT 1 FROM ytmetrics.videos WHERE source = :other)
    OR EXISTS (SELECT 1 FROM ytmetrics.snapshot_batches
               WHERE source = :other AND videos_written > 0)
    OR EXISTS (SELECT 1 FROM ytmetrics.channels WHERE source = :other)
"""


def holds_source(conn: Connection, source: str) -> bool:
    return bool(conn.execute(text(_HOLDS), {"other": source}).scalar_one())


# The same question as a value of a larger query (bind :other to other_source(source)).
HOLDS_OTHER_SQL = "(" + _HOLDS.strip() + ")"


def other_source(source: str) -> str:
    """The source whose data a write of ``source`` must not join (unknown sources refused)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    return "simulator" if source == "youtube" else "youtube"


def refuse_if_mixed(source: str, other_held: bool) -> None:
    """Raise the refusal of ``source`` when the warehouse holds the other source's data."""
    if not other_held:
        return
    if source == "simulator":
        raise SourceMixError(
            "refusing to write simulated data: this warehouse already holds real YouTube data "
            "(rows with source = 'youtube'). Use a separate database for the simulator "
            "(YTMETRICS_DATABASE_URL, or YTMETRICS_HOME for an embedded one), or collect from "
            "YouTube (YTMETRICS_SOURCE=youtube with YOUTUBE_API_KEY)."
        )
    raise SourceMixError(
        "refusing to write real YouTube data: this warehouse holds simulated data (rows with "
        "source = 'simulator', e.g. from `make run`'s demo). Use a separate database for real "
        "data (YTMETRICS_DATABASE_URL, or YTMETRICS_HOME for an embedded one)."
    )


def assert_source_allowed(conn: Connection, source: str) -> None:
    refuse_if_mixed(source, holds_source(conn, other_source(source)))
