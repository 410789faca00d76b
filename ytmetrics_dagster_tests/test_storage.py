"""Years of data (issue #11): day-partitioned lean storage, the migration from the previous
schema, partitions created ahead and compacted, re-runs without bloat, retention by policy,
and hourly work that never reads the history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.operations.storage import partition_upkeep_job, retention_job
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse import day_partitions, growth
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import current_revision, downgrade, head_revision, upgrade
from ytmetrics_dagster.warehouse.videos import DUE_SQL, due_params

from .helpers import (
    CATALOG,
    DAY,
    comments_off_id,
    current_hour,
    frame,
    hidden_likes_id,
    hour_range,
    normal_ids,
    observe_directly,
    published_between,
    snapshot,
    track_directly,
    track_gone_video,
    wait_until,
)
from .helpers import HOUR_KEY as HOUR

pytestmark = pytest.mark.db

# -- the migration from the previous schema ------------------------------------------------


@pytest.fixture
def old_schema_engine(pg_server):
    name = "ytmetrics_migration_test"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine = get_engine(database_on_server(pg_server, name, "psycopg"))
    yield engine
    engine.dispose()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# A populated warehouse of the previous schema (revision 0006): 40 videos over three days,
# hidden likes and disabled comments included, observation times spread over each hour.
OLD_DATA = """
INSERT INTO ytmetrics.videos (video_id, title, published_at, status, source, added_at)
SELECT 'vid' || lpad(n::text, 8, '0'), 'video ' || n, '2026-10-01'::timestamptz, 'active',
       'simulator', '2026-11-01 00:00+00'
FROM generate_series(1, 40) n;

INSERT INTO ytmetrics.metric_snapshots
    (video_id, snapshot_hour, observed_at, view_count, like_count, comment_count, source, run_id)
SELECT 'vid' || lpad(n::text, 8, '0'), h,
       h + make_interval(secs => (n * 37 + extract(hour FROM h)::int * 11) % 3600),
       1000 * n + 10 * extract(epoch FROM h - '2026-11-01')::bigint / 3600,
       CASE WHEN n % 9 = 0 THEN NULL ELSE 10 * n + extract(day FROM h)::int END,
       CASE WHEN n % 7 = 0 THEN NULL ELSE n END,
       'simulator', 'run-' || to_char(h, 'YYYYMMDDHH24')
FROM generate_series(1, 40) n
CROSS JOIN generate_series('2026-11-01 00:00+00'::timestamptz, '2026-11-03 23:00+00', '1 hour') h
-- a gap of five hours for some videos
WHERE NOT (n % 5 = 0 AND h BETWEEN '2026-11-02 03:00+00' AND '2026-11-02 07:00+00');

INSERT INTO ytmetrics.video_growth_hourly
    (video_id, snapshot_hour, observed_at, view_count, like_count, comment_count,
     prev_observed_at, hours_elapsed, views_gained, likes_gained, comments_gained, views_per_hour)
SELECT video_id, snapshot_hour, observed_at, view_count, like_count, comment_count,
       lag(observed_at) OVER w, extract(epoch FROM observed_at - lag(observed_at) OVER w) / 3600,
       view_count - lag(view_count) OVER w, like_count - lag(like_count) OVER w,
       comment_count - lag(comment_count) OVER w, NULL
FROM ytmetrics.metric_snapshots WINDOW w AS (PARTITION BY video_id ORDER BY snapshot_hour);
"""

OLD_CHECKSUM = """
SELECT count(*) AS n, md5(string_agg(concat_ws('|', video_id, snapshot_hour, observed_at,
       view_count, like_count, comment_count, source), ',' ORDER BY video_id, snapshot_hour)) AS sum
FROM ytmetrics.{table}
"""


def test_the_migration_converts_a_populated_warehouse_without_losing_a_row(old_schema_engine):
    engine = old_schema_engine
    assert upgrade(engine, "0006") == "0006"
    with engine.begin() as conn:
        for statement in OLD_DATA.split(";\n"):
            if statement.strip():
                conn.execute(text(statement))
    before = frame(engine, OLD_CHECKSUM.format(table="metric_snapshots"))
    growth_before = frame(
        engine,
        "SELECT count(*) AS n, sum(views_gained) AS gained FROM ytmetrics.video_growth_hourly",
    )
    assert before.n[0] == 40 * 72 - 8 * 5

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    after = frame(engine, OLD_CHECKSUM.format(table="snapshots"))
    assert after.n[0] == before.n[0] and after["sum"][0] == before["sum"][0]
    # no duplicates, every day in its own partition, the hour's facts kept once
    assert (
        frame(
            engine,
            "SELECT count(*) AS n FROM (SELECT video_key, snapshot_hour FROM"
            " ytmetrics.metric_snapshots GROUP BY 1, 2 HAVING count(*) > 1) d",
        ).n[0]
        == 0
    )
    days = frame(
        engine,
        "SELECT tableoid::regclass::text AS part, count(*) AS n FROM ytmetrics.metric_snapshots"
        " GROUP BY 1 ORDER BY 1",
    )
    assert list(days.part) == [f"ytmetrics.metric_snapshots_p202611{d:02d}" for d in (1, 2, 3)]
    batches = frame(
        engine, "SELECT snapshot_hour, run_id, videos_written FROM ytmetrics.snapshot_batches"
    )
    assert len(batches) == 72
    assert (batches.run_id == batches.snapshot_hour.dt.strftime("run-%Y%m%d%H")).all()
    growth_after = frame(
        engine, "SELECT count(*) AS n, sum(views_gained) AS gained FROM ytmetrics.growth_hourly"
    )
    assert growth_after.equals(growth_before)
    # the per-video record holds each video's two newest observations
    state = frame(
        engine,
        "SELECT v.video_id, s.last_hour, s.prev_hour, s.last_views FROM"
        " ytmetrics.video_observation_state s JOIN ytmetrics.videos v USING (video_key)",
    )
    assert len(state) == 40
    assert (state.last_hour == datetime(2026, 11, 3, 23, tzinfo=UTC)).all()
    assert (state.prev_hour == datetime(2026, 11, 3, 22, tzinfo=UTC)).all()
    assert frame(engine, "SELECT value FROM ytmetrics.deployment").value[0] == "2026-11-01"

    # and back: the downgrade restores the previous schema with the same rows
    downgrade(engine, "0006")
    again = frame(engine, OLD_CHECKSUM.format(table="metric_snapshots"))
    assert again.n[0] == before.n[0] and again["sum"][0] == before["sum"][0]


# -- partitions: created ahead, compacted once closed, re-runs without bloat ------------------


def _sizes(engine, parent: str) -> dict:
    return {p.name: p.bytes for p in day_partitions.day_partitions(engine, parent)}


def test_upkeep_creates_partitions_ahead_and_compacts_closed_days(engine, resources):
    ids = normal_ids(30)
    track_directly(engine, ids)
    # the history is written as the snapshot asset writes it (the subject is the upkeep job)
    observe_directly(engine, [DAY + timedelta(hours=h) for h in range(0, 24, 6)])
    # re-observing two hours leaves dead tuples in the day partition
    observe_directly(engine, [DAY + timedelta(hours=h) for h in (0, 6)])
    before = datetime.now(UTC).date()
    result = partition_upkeep_job.execute_in_process(resources=resources)
    assert result.success
    # the job's today: the test's, or the next day's if midnight UTC passed while it ran
    through = next(
        e.event_specific_data.metadata["through"].value
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == "create_partitions_ahead"
    )
    today = date.fromisoformat(through) - timedelta(days=7)
    assert before <= today <= datetime.now(UTC).date()
    names = set(_sizes(engine, "metric_snapshots"))
    for n in range(8):
        day = today + timedelta(days=n)
        assert f"metric_snapshots_p{day:%Y%m%d}" in names
        assert f"video_growth_hourly_p{day:%Y%m%d}" in set(_sizes(engine, "video_growth_hourly"))
    compacted = {
        p.name: p for p in day_partitions.day_partitions(engine, "metric_snapshots") if p.compacted
    }
    assert f"metric_snapshots_p{DAY:%Y%m%d}" in compacted
    # compacted: a video's rows are adjacent (one heap page for its 4 observations)
    pages = frame(
        engine,
        f"SELECT video_key, count(DISTINCT (ctid::text::point)[0]) AS pages"
        f" FROM ytmetrics.metric_snapshots_p{DAY:%Y%m%d} GROUP BY 1",
    )
    assert (pages.pages == 1).all()
    # a closed day written again is compacted again; an untouched one is not
    assert snapshot(resources, DAY + timedelta(hours=12)).success
    again = partition_upkeep_job.execute_in_process(resources=resources)
    compaction = next(
        e.event_specific_data.metadata
        for e in again.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == "compact_closed_partitions"
    )
    assert compaction["partitions_compacted"].value == 1


def test_rerunning_a_whole_day_of_growth_leaves_no_dead_tuples(engine, resources):
    track_directly(engine, normal_ids(40))
    # the day's 24 hours, in one run (a backfill range writes each hour as its own run would)
    assert dg.materialize(
        [video_metric_snapshots],
        resources=resources,
        tags=hour_range(DAY, DAY + timedelta(hours=23)),
    ).success
    start, end = DAY, DAY + timedelta(days=1)
    growth.rebuild_hourly_growth(engine, start, end)
    name = f"video_growth_hourly_p{DAY:%Y%m%d}"
    first = _sizes(engine, "video_growth_hourly")[name]
    for _ in range(3):
        growth.rebuild_hourly_growth(engine, start, end)
    # TRUNCATE + INSERT: the same size every time, no dead tuples (a DELETE would add 960 each)
    assert _sizes(engine, "video_growth_hourly")[name] == first
    dead = frame(
        engine,
        "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = :n",
        n=name,
    )
    assert dead.empty or dead.n_dead_tup[0] == 0


# -- the hourly work does not read the history -------------------------------------------------


def _partition_scans(plan: dict) -> list[tuple[str, int]]:
    """(relation, actual loops) of every scan of a day partition in an EXPLAIN ANALYZE plan."""
    found = []
    relation = plan.get("Relation Name", "")
    if relation.startswith(("metric_snapshots_p", "video_growth_hourly_p")):
        found.append((relation, int(plan.get("Actual Loops", 0))))
    for child in plan.get("Plans", []):
        found += _partition_scans(child)
    return found


def _explain(engine, sql: str, params: dict) -> dict:
    with engine.connect() as conn:
        raw = conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql), params).scalar_one()
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def test_who_is_due_reads_the_per_video_record_not_the_history(engine):
    ids = normal_ids(20)
    track_directly(engine, ids)
    hours = [DAY + timedelta(hours=h) for h in range(0, 48, 2)]  # two days of history
    observe_directly(engine, hours)
    # a daily tier, at hours off its anchor: the decision needs each video's last observation
    tiers = [{"max_age_hours": None, "every_hours": 24}]
    nxt = hours[-1] + timedelta(hours=2)
    scans = _partition_scans(_explain(engine, DUE_SQL, due_params(nxt, nxt, tiers, 12)))
    assert scans, "the plan should contain the (unexecuted) fallback lookup"
    assert all(loops == 0 for _, loops in scans), scans
    # only an hour older than a video's two newest observations needs the history
    old = hours[3] + timedelta(hours=1)
    scans = _partition_scans(_explain(engine, DUE_SQL, due_params(old, old, tiers, 12)))
    assert any(loops > 0 for _, loops in scans), scans


STATE_FROM_HISTORY = """
SELECT video_key, max(snapshot_hour) FILTER (WHERE rn = 1) AS last_hour,
       max(view_count) FILTER (WHERE rn = 1) AS last_views,
       max(snapshot_hour) FILTER (WHERE rn = 2) AS prev_hour,
       max(view_count) FILTER (WHERE rn = 2) AS prev_views
FROM (SELECT video_key, snapshot_hour, view_count,
             row_number() OVER (PARTITION BY video_key ORDER BY snapshot_hour DESC) AS rn
      FROM ytmetrics.metric_snapshots) s
WHERE rn <= 2 GROUP BY video_key ORDER BY video_key
"""


def test_rewriting_old_hours_keeps_the_per_video_record_true(engine):
    """The state is kept by the write, and re-reading the history only where a rewritten hour
    can change it: the record always equals what the history says."""
    from ytmetrics_dagster.warehouse.snapshots import replace_snapshot_partition
    from ytmetrics_dagster.youtube.models import VideoStatistics

    ids = normal_ids(6)
    track_directly(engine, ids)
    hours = [DAY + timedelta(hours=h) for h in range(5)]

    def write(hour, offset, present=ids):
        observations = [
            VideoStatistics(v, 1000 * i + 100 * hours.index(hour) + offset, None, None)
            for i, v in enumerate(ids)
            if v in present
        ]
        replace_snapshot_partition(
            engine, hour, observations, observed_at=hour + timedelta(minutes=5), source="simulator"
        )

    def state():
        return frame(
            engine,
            "SELECT video_key, last_hour, last_views, prev_hour, prev_views"
            " FROM ytmetrics.video_observation_state ORDER BY video_key",
        )

    for hour in hours:
        write(hour, 0)
    write(hours[1], 7)  # older than every video's two newest observations: nothing changes
    unchanged = state()
    assert unchanged.equals(frame(engine, STATE_FROM_HISTORY))
    write(hours[3], 9)  # the second newest, with new counts
    write(hours[4], 0, present=ids[:4])  # two videos vanish from the newest hour
    write(hours[2], 0, present=ids[:5])  # and one of them from an older one
    after = state()
    assert after.equals(frame(engine, STATE_FROM_HISTORY)), after
    assert set(after.last_hour) == {hours[4], hours[3]}
    assert (after.prev_views % 100 != 0).any()  # the rewritten second-newest counts


def test_concurrent_rewrites_of_different_hours_keep_the_per_video_record_true(engine, monkeypatch):
    """Writes of different hours hold different hour locks and may overlap (a backfill beside
    the hourly run). Each decides from the per-video record which videos to re-read, so one
    write must not rebuild the record from a history another has changed but not committed."""
    import threading

    from ytmetrics_dagster.warehouse import snapshots
    from ytmetrics_dagster.youtube.models import VideoStatistics

    (vid,) = normal_ids(1)
    track_directly(engine, [vid])
    # one hour a day: writes of the same day already queue on that day's partition record
    at = {h: DAY + timedelta(days=d, hours=h) for d, h in enumerate((5, 10, 15, 20))}

    def write(h, present=True):
        observations = [VideoStatistics(vid, 100 * h, None, None)] if present else []
        snapshots.replace_snapshot_partition(
            engine,
            at[h],
            observations,
            observed_at=at[h] + timedelta(minutes=5),
            source="simulator",
        )

    for h in at:
        write(h)
    # the write of 10:00 pauses after deciding (the record's prev is 15:00: nothing to
    # re-read) and before committing; meanwhile 15:00 is rewritten without the video
    decided, resume = threading.Event(), threading.Event()
    finish = snapshots._finish

    def paused_finish(conn, hour, *args):
        if hour == at[10]:
            decided.set()
            resume.wait(10)
        return finish(conn, hour, *args)

    monkeypatch.setattr(snapshots, "_finish", paused_finish)
    first = threading.Thread(target=write, args=(10, False))
    first.start()
    assert decided.wait(10)
    second = threading.Thread(target=write, args=(15, False))
    second.start()
    second.join(1)
    waited = second.is_alive()
    resume.set()
    first.join(10)
    second.join(10)
    assert waited, "the second write must wait for the first to commit"
    state = frame(
        engine,
        "SELECT video_key, last_hour, last_views, prev_hour, prev_views"
        " FROM ytmetrics.video_observation_state ORDER BY video_key",
    )
    assert state.equals(frame(engine, STATE_FROM_HISTORY)), state
    assert list(state.prev_hour) == [at[5]]


def test_growth_of_the_newest_hour_reads_only_that_day(engine):
    ids = normal_ids(20)
    track_directly(engine, ids)
    hours = [DAY - timedelta(days=2) + timedelta(hours=h) for h in range(0, 72, 3)]
    observe_directly(engine, hours)
    last = hours[-1]
    plan = _explain(
        engine,
        growth.HOURLY_GROWTH_SELECT,
        {"start": last, "end": last + timedelta(hours=1)},
    )
    executed = {name for name, loops in _partition_scans(plan) if loops > 0}
    assert executed == {f"metric_snapshots_p{last:%Y%m%d}"}


# What the history written directly holds (helpers.observe_directly, for the tests above and
# below whose subject is not the snapshot asset): everything the asset's write leaves, but the
# run's id and the write's own time.
WRITTEN_BY_A_SNAPSHOT = {
    "snapshots": "SELECT * FROM ytmetrics.snapshots ORDER BY video_id, snapshot_hour",
    "batches": "SELECT snapshot_hour, kind, source, observed_at, videos_due, videos_written,"
    " videos_missing, api_calls FROM ytmetrics.snapshot_batches ORDER BY snapshot_hour",
    "state": "SELECT v.video_id, s.last_hour, s.last_observed_at, s.last_views, s.last_likes,"
    " s.last_comments, s.prev_hour, s.prev_observed_at, s.prev_views, s.prev_likes,"
    " s.prev_comments FROM ytmetrics.video_observation_state s JOIN ytmetrics.videos v"
    " USING (video_key) ORDER BY v.video_id",
    "videos": "SELECT video_id, status, consecutive_misses, last_missed_hour"
    " FROM ytmetrics.videos ORDER BY video_id",
}


def test_the_history_written_directly_is_what_the_snapshot_asset_writes(engine, resources):
    from .conftest import EMPTY_TABLES

    hours = [DAY + timedelta(hours=h) for h in range(4)]
    # published during the hours: due (and observed) once it is public
    fresh = published_between(hours[0] + timedelta(minutes=5), hours[-1], "fresh")
    ids = [*normal_ids(3), hidden_likes_id(), comments_off_id(), fresh]
    gone: list[str] = []  # missing, then unavailable; found once (a scan of the catalog)

    def written(observe) -> dict:
        with engine.begin() as conn:
            conn.execute(text(EMPTY_TABLES))
        track_directly(engine, ids, at=DAY - timedelta(days=1))
        if gone:
            track_directly(engine, gone, at=DAY)  # as track_gone_video tracks it
        else:
            gone.append(track_gone_video(engine, gone_before=DAY))
        observe()
        with engine.connect() as conn:
            return {
                name: [tuple(row) for row in conn.execute(text(sql))]
                for name, sql in WRITTEN_BY_A_SNAPSHOT.items()
            }

    by_the_asset = written(
        lambda: dg.materialize(
            [video_metric_snapshots], resources=resources, tags=hour_range(hours[0], hours[-1])
        )
    )
    directly = written(lambda: observe_directly(engine, hours))
    public = sum(CATALOG.profile(fresh).is_visible(h + timedelta(minutes=5)) for h in hours)
    assert 1 <= public < len(hours)
    assert len(by_the_asset["snapshots"]) == 5 * len(hours) + public
    assert "unavailable" in {status for _, status, *_ in by_the_asset["videos"]}
    assert directly == by_the_asset


# -- retention by policy ----------------------------------------------------------------------


def test_retention_drops_whole_expired_days_and_says_what(engine, resources, dagster_pg_url):
    ids = normal_ids(5)
    track_directly(engine, ids)
    now_hour = current_hour()
    today = now_hour.date()
    old_days = [today - timedelta(days=d) for d in (40, 35, 31)]
    hours = [datetime(d.year, d.month, d.day, 10, tzinfo=UTC) for d in old_days]
    hours.append(now_hour - timedelta(hours=1))
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_pg_url}}}
    ) as instance:
        # the history as the two assets' runs of those hours leave it, in the warehouse and in
        # Dagster's record (the subject is the retention job)
        observe_directly(engine, hours)
        for h in hours:
            growth.rebuild_hourly_growth(engine, h, h + timedelta(hours=1))
            for asset in (video_metric_snapshots, video_growth_hourly):
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(asset.key, partition=h.strftime(HOUR))
                )
        run_config = {
            "ops": {"apply_retention_policy": {"config": {"snapshot_days": 30, "derived_days": 36}}}
        }
        result = retention_job.execute_in_process(
            resources=resources, run_config=run_config, instance=instance
        )
        assert result.success
        observed = {
            r.partition_key: r.asset_observation.metadata
            for r in instance.fetch_observations(
                dg.AssetKey("video_metric_snapshots"), limit=10_000
            ).records
        }
    metadata = next(
        e.event_specific_data.metadata
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT"
    )
    dropped = metadata["dropped"].value
    for d in old_days:  # raw snapshots: everything older than 30 days
        assert f"metric_snapshots_p{d:%Y%m%d}" in dropped
    assert f"video_growth_hourly_p{old_days[0]:%Y%m%d}" in dropped  # derived: older than 36
    assert f"video_growth_hourly_p{old_days[2]:%Y%m%d}" not in dropped
    assert metadata["snapshots_kept_from"].value == str(today - timedelta(days=29))
    kept = frame(engine, "SELECT DISTINCT snapshot_hour FROM ytmetrics.snapshots")
    assert list(kept.snapshot_hour) == [hours[-1]]
    assert frame(engine, "SELECT count(*) AS n FROM ytmetrics.snapshot_batches").n[0] == 1
    growth_days = frame(
        engine,
        "SELECT DISTINCT CAST(snapshot_hour AT TIME ZONE 'UTC' AS date) AS d FROM ytmetrics.growth_hourly",
    )
    assert set(growth_days.d) == {old_days[1], old_days[2], hours[-1].date()}
    # Dagster's record says so: each dropped hour's latest event is a "dropped" observation
    for h in hours[:-1]:
        assert observed[h.strftime(HOUR)]["dropped_by_retention"].value is True
    assert hours[-1].strftime(HOUR) not in observed


def test_retention_is_off_unless_configured(engine, resources):
    track_directly(engine, normal_ids(2))
    assert snapshot(resources, DAY).success
    result = retention_job.execute_in_process(resources=resources)
    assert result.success
    assert frame(engine, "SELECT count(*) AS n FROM ytmetrics.snapshots").n[0] == 2
    bad = retention_job.execute_in_process(
        resources=resources,
        run_config={"ops": {"apply_retention_policy": {"config": {"snapshot_days": 0}}}},
        raise_on_error=False,
    )
    assert not bad.success


def test_two_first_writers_of_a_new_day_both_write_and_each_marks_the_partition(engine):
    """Migration 0017: the second of two transactions making the same new day partition waits
    for the first, then uses its table (it failed with "relation ... already exists": its
    catalog cache did not show the first's committed table), and its write marks the partition
    written after the first's commit (compaction redoes the day)."""
    import threading

    start = datetime(2031, 1, 5, 3, tzinfo=UTC)  # a day no test has a partition for
    end = start + timedelta(hours=1)
    name = "metric_snapshots_p20310105"
    outcome: dict = {}

    def second_writer():
        try:
            with engine.begin() as conn:
                day_partitions.prepare_window(conn, "metric_snapshots", start, end)
        except Exception as err:  # reported below
            outcome["error"] = err

    try:
        with engine.connect() as first:
            first.begin()
            day_partitions.prepare_window(first, "metric_snapshots", start, end)
            second = threading.Thread(target=second_writer)
            second.start()
            wait_until(
                lambda: frame(
                    engine,
                    "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted",
                ).n[0],
                10,
                "the second writer to wait for the first's partition lock",
                0.02,
            )
            committed_before = first.execute(text("SELECT clock_timestamp()")).scalar_one()
            first.commit()
        second.join(10)
        assert not second.is_alive()
        assert "error" not in outcome, outcome.get("error")
        marked = frame(
            engine,
            "SELECT last_written_at FROM ytmetrics.day_partitions WHERE partition_name = :n",
            n=name,
        ).last_written_at
        assert len(marked) == 1 and marked[0] > committed_before
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS ytmetrics.{name}"))
            conn.execute(
                text("DELETE FROM ytmetrics.day_partitions WHERE partition_name = :n"), {"n": name}
            )
