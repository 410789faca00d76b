"""Round trips to the warehouse per observed hour of the snapshot asset (issue #21): every
backfill and every scheduled run goes through the same per-hour path, so its statements and
pooled connection checkouts (each one also a pre-ping) are what an hour costs."""

from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import event

from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

from .helpers import DAY, frame, hour_range, normal_ids, published_between, register

pytestmark = pytest.mark.db

# Every video hourly: each hour of the backfill is observed (one API call for 3 videos).
HOURLY = {"ops": {"video_metric_snapshots": {"config": {"cadence": "*:1h"}}}}
# Per observed hour: the quota ledger's two (before_send commits the attempt on its own
# connection before it is sent; settle records the answer), and one connection for the rest.
MAX_STATEMENTS_PER_HOUR = 15
MAX_CHECKOUTS_PER_HOUR = 3


class RoundTrips:
    """Statements sent and connections checked out of the engine's pool while counting."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = 0
        self.checkouts = 0

    def _statement(self, *args):
        self.statements += 1

    def _checkout(self, *args):
        self.checkouts += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine.pool, "checkout", self._checkout)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine.pool, "checkout", self._checkout)


def backfill(engine, resources, first, hours: int) -> RoundTrips:
    with RoundTrips(engine) as counted:
        assert dg.materialize(
            [video_metric_snapshots],
            resources=resources,
            tags=hour_range(first, first + timedelta(hours=hours - 1)),
            run_config=HOURLY,
        ).success
    return counted


def test_an_observed_hour_costs_few_statements_and_connections(engine, resources):
    register(engine, resources, normal_ids(3))
    # what a run costs whatever its length (reservation, source check, metadata) cancels out
    # in the difference of two runs: 4 hours, then 12 more
    short = backfill(engine, resources, DAY, 4)
    long = backfill(engine, resources, DAY + timedelta(hours=4), 12)
    statements = (long.statements - short.statements) / 8
    checkouts = (long.checkouts - short.checkouts) / 8
    # both runs observed every hour they covered
    observed = frame(
        engine,
        "SELECT count(*) AS n, count(DISTINCT snapshot_hour) AS hours FROM ytmetrics.snapshots",
    )
    assert (observed.n[0], observed.hours[0]) == (16 * 3, 16)
    assert statements <= MAX_STATEMENTS_PER_HOUR, (statements, checkouts)
    assert checkouts <= MAX_CHECKOUTS_PER_HOUR, (statements, checkouts)


def test_a_backfills_plan_in_one_query_equals_hour_by_hour(engine, resources):
    from ytmetrics_dagster.domain.cadence import parse_cadence
    from ytmetrics_dagster.warehouse import collections

    young = published_between(DAY - timedelta(days=2), DAY - timedelta(days=1), "planyoung")
    register(engine, resources, [young, *normal_ids(2)])
    cadence = parse_cadence("2d:1h,*:6h", 12)
    # observations before, inside and after the hours asked about: the state and the history
    assert dg.materialize(
        [video_metric_snapshots],
        resources=resources,
        tags=hour_range(DAY, DAY + timedelta(hours=30)),
        run_config={"ops": {"video_metric_snapshots": {"config": {"cadence": "2d:1h,*:6h"}}}},
    ).success
    hours = [(DAY + timedelta(hours=h), DAY + timedelta(hours=h, minutes=5)) for h in range(-4, 40)]
    args = (cadence.tiers_json(), cadence.anchor_hour)
    one_by_one = [collections.due_or_collected(engine, h, at, *args) for h, at in hours]
    assert collections.due_or_collected_by_hour(engine, hours, *args) == one_by_one
    # the cadence shows: some hours hold all three, some only the young one, some none
    assert {len(ids) for ids in one_by_one} >= {1, 3}
