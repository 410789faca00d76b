"""The counts the quota capacity estimate needs, in one query (see ytmetrics_dagster.domain.capacity)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from ytmetrics_dagster.domain.capacity import IDS_PER_UNIT, CapacityCounts


def capacity_counts(engine: Engine, tiers: list[dict], now: datetime) -> CapacityCounts:
    """Active videos per cadence interval now, unavailable videos, tracked channels, and the
    units of the registration runs of the last 24 h (⌈requests/50⌉ per run that resolved
    requests: each such run fetched their details in batches of 50)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                SELECT
                    (SELECT coalesce(jsonb_object_agg(every_hours, n), '{}'::jsonb)
                     FROM (SELECT ytmetrics.cadence_interval(
                                      CAST(:tiers AS jsonb),
                                      extract(epoch FROM CAST(:now AS timestamptz) - v.published_at)
                                          / 3600.0) AS every_hours,
                                  count(*) AS n
                           FROM ytmetrics.videos v
                           WHERE v.status = 'active'
                           GROUP BY 1) per_interval) AS active_by_interval,
                    (SELECT count(*) FROM ytmetrics.videos
                     WHERE status = 'unavailable') AS unavailable,
                    (SELECT count(*) FROM ytmetrics.channels
                     WHERE status = 'tracked') AS tracked_channels,
                    (SELECT coalesce(sum(ceil(n / CAST(:per_unit AS numeric))), 0)
                     FROM (SELECT count(*) AS n FROM ytmetrics.registration_requests
                           WHERE resolved_at > :since AND resolved_at <= :now
                           GROUP BY run_id) runs) AS registration_units
                """
            ),
            {
                "tiers": json.dumps([{"pos": i, **t} for i, t in enumerate(tiers)]),
                "now": now,
                "since": now - timedelta(hours=24),
                "per_unit": IDS_PER_UNIT,
            },
        ).one()
    return CapacityCounts(
        active_by_interval={int(k): int(v) for k, v in row.active_by_interval.items()},
        unavailable=int(row.unavailable),
        tracked_channels=int(row.tracked_channels),
        registration_units_24h=int(row.registration_units),
    )
