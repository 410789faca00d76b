"""What one snapshot hour holds, for the metadata of its partition: the facts of the *hour*
(all its batches), never of the run or batch that happened to write it last.

- ``rows``: observations the hour holds (a new-videos batch adds to the scheduled one).
- ``due``: videos due that hour, over its batches; ``observed``: those it holds;
  ``deferred``: due videos put off to a later hour on purpose (``deferred_count``);
  ``missed``: due, neither observed nor deferred (left out of YouTube's answer, or a batch
  that never came back).
- ``views_gained``: views gained per hour by the videos observed: each video's gain since its
  previous observation, scaled to one hour when that observation is older than an hour (an
  even rate between observations assumed). A daily video's 24 h of gains thus counts as one
  hour's worth, so the figure does not jump at the daily tier's hour as a sum of totals did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from ytmetrics_dagster.warehouse.binds import Bind, connected

# A previous observation older than this is not looked for (bounded day partitions); such a
# video's gain is left out of views_gained rather than spread over weeks.
PREVIOUS_WITHIN_DAYS = 8

_HOUR_SQL = """
WITH hour_rows AS (
    SELECT s.video_key, s.view_count,
           s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at
    FROM ytmetrics.metric_snapshots s
    WHERE s.snapshot_hour = :hour
),
gains AS (
    SELECT (h.view_count - p.view_count)
           * least(1.0, 3600.0 / greatest(extract(epoch FROM h.observed_at - p.observed_at), 1))
           AS gained
    FROM hour_rows h
    CROSS JOIN LATERAL (
        SELECT s.view_count, s.snapshot_hour + make_interval(secs => s.observed_seconds) AS observed_at
        FROM ytmetrics.metric_snapshots s
        WHERE s.video_key = h.video_key AND s.snapshot_hour < :hour
          AND s.snapshot_hour >= :hour - make_interval(days => :within)
        ORDER BY s.snapshot_hour DESC LIMIT 1
    ) p
)
SELECT (SELECT count(*) FROM hour_rows) AS rows,
       (SELECT coalesce(sum(videos_due), 0) FROM ytmetrics.snapshot_batches
        WHERE snapshot_hour = :hour) AS due,
       (SELECT count(*) FROM ytmetrics.snapshot_batches WHERE snapshot_hour = :hour) AS batches,
       (SELECT coalesce(round(sum(gained)), 0) FROM gains) AS views_gained
"""


@dataclass(frozen=True)
class HourFacts:
    rows: int
    due: int
    observed: int
    deferred: int
    missed: int
    batches: int
    views_gained: int

    def metadata(self) -> dict:
        """Short keys (they are column headers in the UI); ``dagster/row_count`` is the
        hour's, not the batch's."""
        facts = asdict(self)
        return {"dagster/row_count": facts.pop("rows"), **facts}


def deferred_count(conn: Connection, hour: datetime) -> int:
    """Due videos of ``hour`` that its paced run deliberately put off to a later hour
    (``deferred_observations``, docs/quota-pacing.md), less any observed in the hour after all
    (collected on request). They are in no batch, so they add to the hour's due videos."""
    return int(
        conn.execute(
            text(
                """
                SELECT count(*) FROM ytmetrics.deferred_observations d
                WHERE d.snapshot_hour = :hour
                  AND NOT EXISTS (SELECT 1 FROM ytmetrics.metric_snapshots s
                                  WHERE s.snapshot_hour = :hour AND s.video_key = d.video_key)
                """
            ),
            {"hour": hour},
        ).scalar_one()
    )


def hour_facts(bind: Bind, hour: datetime) -> HourFacts:
    with connected(bind) as conn:
        row = (
            conn.execute(text(_HOUR_SQL), {"hour": hour, "within": PREVIOUS_WITHIN_DAYS})
            .mappings()
            .one()
        )
        deferred = deferred_count(conn, hour)
    observed = int(row["rows"])
    due = int(row["due"]) + deferred
    return HourFacts(
        rows=observed,
        due=due,
        observed=observed,
        deferred=deferred,
        missed=max(due - observed - deferred, 0),
        batches=int(row["batches"]),
        views_gained=int(row["views_gained"]),
    )
