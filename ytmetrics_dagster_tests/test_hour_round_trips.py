"""Round trips to the warehouse per observed hour of the snapshot asset (issue #21): every
backfill and every scheduled run goes through the same per-hour path, so its statements and
pooled connection checkouts (each one also a pre-ping) are what an hour costs."""

from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import event, text

from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots

from .helpers import DAY, frame, hour_range, normal_ids, published_between, register

pytestmark = pytest.mark.db

# Every video hourly: each hour of the backfill is observed (one API call for 3 videos).
HOURLY = {"ops": {"video_metric_snapshots": {"config": {"cadence": "*:1h"}}}}
# Per observed hour: the quota ledger's two (before_send commits the attempt on its own
# connection before it is sent; settle records the answer), and one connection for the rest.
MAX_STATEMENTS_PER_HOUR = 13
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
    # videos collected into hours on request (one not due then), and one request still pending
    old_video = normal_ids(2)[0]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.collection_requests (video_id, status, snapshot_hour) "
                "SELECT :v, s, h FROM unnest(CAST(:statuses AS text[]), "
                "CAST(:hours AS timestamptz[])) AS r(s, h)"
            ),
            {
                "v": old_video,
                "statuses": ["collected", "collected", "pending"],
                "hours": [DAY + timedelta(hours=7), DAY + timedelta(hours=33), None],
            },
        )
    args = (cadence.tiers_json(), cadence.anchor_hour)
    one_by_one = [collections.due_or_collected(engine, h, at, *args) for h, at in hours]
    assert collections.due_or_collected_by_hour(engine, hours, *args) == one_by_one
    # the collected video is in its hours whether due there or not
    assert old_video in one_by_one[4 + 7] and old_video in one_by_one[4 + 33]
    # the cadence shows: some hours hold all three, some only the young one, some none
    assert {len(ids) for ids in one_by_one} >= {1, 3}


def test_the_merged_write_still_refuses_a_mixed_source_and_unknown_videos(engine):
    from sqlalchemy import text

    from ytmetrics_dagster.warehouse import snapshots
    from ytmetrics_dagster.warehouse.sources import SourceMixError
    from ytmetrics_dagster.youtube.models import VideoStatistics

    from .helpers import nonexistent_id, track_directly

    ids = normal_ids(2)
    track_directly(engine, ids)
    hour = DAY + timedelta(hours=3)
    at = hour + timedelta(minutes=5)
    observed = [VideoStatistics(v, 100, 1, 1) for v in ids]
    with engine.begin() as conn:  # as if collected from YouTube earlier
        conn.execute(text("UPDATE ytmetrics.videos SET source = 'youtube'"))
    with pytest.raises(SourceMixError, match="refusing to write simulated data"):
        snapshots.replace_snapshot_partition(
            engine, hour, observed, observed_at=at, source="simulator"
        )
    # a write without observations holds no data of either source: allowed
    assert (
        snapshots.replace_snapshot_partition(
            engine, hour, [], observed_at=at, source="simulator"
        ).rows
        == 0
    )
    # the source is refused before an unknown video is looked at
    ghost = [*observed, VideoStatistics(nonexistent_id(), 1, 1, 1)]
    with pytest.raises(SourceMixError):
        snapshots.replace_snapshot_partition(
            engine, hour, ghost, observed_at=at, source="simulator"
        )
    with pytest.raises(ValueError, match="not tracked"):
        snapshots.replace_snapshot_partition(engine, hour, ghost, observed_at=at, source="youtube")
    # refused writes change nothing: the empty hour's batch is all the hour holds
    held = frame(
        engine,
        "SELECT (SELECT count(*) FROM ytmetrics.metric_snapshots) AS rows,"
        " (SELECT count(*) FROM ytmetrics.snapshot_batches) AS batches,"
        " (SELECT count(*) FROM ytmetrics.video_observation_state) AS states",
    )
    assert (held.rows[0], held.batches[0], held.states[0]) == (0, 1, 0)
    # and the same observations from the right source are written, keyed to their videos
    written = snapshots.replace_snapshot_partition(
        engine, hour, observed, observed_at=at, source="youtube"
    )
    assert written.rows == 2
    stored = frame(engine, "SELECT video_id, view_count FROM ytmetrics.snapshots ORDER BY 1")
    assert list(stored.video_id) == sorted(ids) and set(stored.view_count) == {100}
