"""``video_metric_snapshots``: one observation of every due video per UTC hour."""

from datetime import datetime, timedelta

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.defs.operations.freshness import HOURLY_FRESHNESS
from ytmetrics_dagster.defs.operations.schemas import table_metadata, table_name
from ytmetrics_dagster.defs.partitions import hourly_partitions
from ytmetrics_dagster.defs.resources import (
    ClockResource,
    WarehouseResource,
    YouTubeResource,
    refused_writes_fail_at_once,
    youtube_retry_policy,
)
from ytmetrics_dagster.defs.snapshots.pacing import PacedHour, pace_hour
from ytmetrics_dagster.defs.snapshots.quota_metadata import quota_day_observation
from ytmetrics_dagster.defs.snapshots.run_guard import (
    RunGuard,
    RunStoppedError,
    attempt_deadline,
    release_ended_runs,
    stops_are_final,
)
from ytmetrics_dagster.domain.cadence import Cadence, parse_cadence
from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.warehouse import collections as collection_queue
from ytmetrics_dagster.warehouse import gaps
from ytmetrics_dagster.warehouse import pacing as pacing_store
from ytmetrics_dagster.warehouse import snapshots as snapshot_store
from ytmetrics_dagster.warehouse import videos as video_store
from ytmetrics_dagster.warehouse.hour_facts import hour_facts
from ytmetrics_dagster.warehouse.quota import next_reset, release, units_for_ids
from ytmetrics_dagster.youtube.client import BATCH_STATS_BUCKET

# When the simulator replays a closed hour, it observes at this minute of the hour, the
# same minute the hourly schedule runs at by default.
SIMULATED_OBSERVATION_MINUTE = 5
# YouTube corrects counts downward now and then (spam views removed); beyond this it is news.
VIEWS_DECREASE_TOLERANCE = 0.001
# No API attempt starts later than this before the hour closes: an observation must belong to
# its hour, and the pool must be free for the next hour's run.
HOUR_DEADLINE_MARGIN = timedelta(seconds=90)

# Emitted by the write itself (it compares each observation with the video's previous one as
# it writes); the checks that read the stored hours back are in defs/snapshots/checks.py.
SNAPSHOT_CHECKS = [
    dg.AssetCheckSpec(
        "views_not_decreasing",
        asset="video_metric_snapshots",
        description="Views fell by more than 0.1 % since the previous observation (warning only: "
        "YouTube does correct counts downward).",
    ),
]


class SnapshotConfig(dg.Config):
    cadence: str = Field(
        default_factory=lambda: load_settings().cadence,
        description="Age tiers 'max_age:interval', youngest first, e.g. '7d:1h,30d:6h,*:24h': "
        "hourly for a week after publishing, then every 6 h, then daily.",
    )
    daily_hour_utc: int = Field(
        default_factory=lambda: load_settings().daily_hour_utc,
        description="UTC hour at which videos on a daily (or N-hourly) interval are observed.",
    )
    unavailable_after_misses: int = Field(
        default=3,
        ge=1,
        description="Consecutive observations a video may be missing from YouTube's answer "
        "before it becomes unavailable (and stops costing quota until the daily re-check finds "
        "it). For an hourly video that is 3 hours, for a daily video 3 days.",
    )
    new_videos_only: bool = Field(
        default=False,
        description="Observe only due videos this hour does not hold yet (newly registered "
        "ones), adding them to the hour: costs ceil(k/50) calls for k new videos. The "
        "scheduled run leaves this off and replaces the hour whole.",
    )
    collection_request_ids: list[int] = Field(
        default_factory=list,
        description="Collect now (set by collection_requests_sensor, with new_videos_only): "
        "observe only the videos of these pending ytmetrics.collection_requests that the hour "
        "in progress does not hold yet, and record the verdict on each request.",
    )


def observation_time(
    window_start: datetime, window_end: datetime, now: datetime, simulated: bool
) -> datetime | None:
    """When to observe the hour [start, end): None (= now) if it is in progress; for a
    closed hour, a fixed minute inside it, which only the simulator can answer."""
    if window_start <= now < window_end:
        return None
    if now < window_start:
        raise dg.Failure(
            f"hour {window_start:%Y-%m-%d %H:00} UTC has not started; nothing to observe",
            allow_retries=False,
        )
    if not simulated:
        raise dg.Failure(
            description=(
                f"cannot observe the closed hour {window_start:%Y-%m-%d %H:00} UTC: the YouTube "
                "Data API reports only current statistics, so past hours cannot be fetched later "
                "and are never fabricated. Materialize the current hour instead (backfills of "
                "past hours work only against the simulator)."
            ),
            allow_retries=False,
        )
    return window_start + timedelta(minutes=SIMULATED_OBSERVATION_MINUTE)


def _units(plan, use_batch_get_stats: bool) -> dict[str, int]:
    calls = [units_for_ids(len(ids)) for _, _, ids in plan]
    if not use_batch_get_stats:
        return {"default": sum(calls)}
    # batches alternate: videos.list takes the even ones, batchGetStats the odd ones
    return {
        "default": sum((c + 1) // 2 for c in calls),
        BATCH_STATS_BUCKET: sum(c // 2 for c in calls),
    }


def _will_retry(err: BaseException, retry_number: int) -> bool:
    if isinstance(err, dg.Failure) and not err.allow_retries:
        return False
    return retry_number < youtube_retry_policy.max_retries


@dg.asset(
    metadata=table_name("metric_snapshots"),
    freshness_policy=HOURLY_FRESHNESS,
    group_name="metrics",
    kinds={"postgres", "youtube"},
    partitions_def=hourly_partitions,
    deps=["tracked_videos"],
    pool="youtube_api",
    retry_policy=youtube_retry_policy,
    check_specs=SNAPSHOT_CHECKS,
    # A backfill is one run that observes its hours in order, each hour its own transaction;
    # it holds one youtube_api pool slot throughout instead of queueing hundreds of runs.
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "Hourly observations of views, likes and comments (table ytmetrics.metric_snapshots, "
        "readable as the view ytmetrics.snapshots). A partition holds one observation of every "
        "video due that UTC hour; re-running it replaces exactly that hour. Likes/comments are "
        "NULL when hidden/disabled. With the real API only the hour in progress can be "
        "observed; an hour that could not be observed is recorded in ytmetrics.missed_hours. "
        "The same write keeps ytmetrics.snapshot_batches (the hour's run, source and figures), "
        "ytmetrics.video_observation_state (each video's two newest observations) and the miss "
        "columns of ytmetrics.videos: a video missing from YouTube's answer in N consecutive "
        "observations (unavailable_after_misses; N hours for an hourly video, N days for a "
        "daily one) becomes unavailable."
    ),
)
def video_metric_snapshots(
    context: dg.AssetExecutionContext,
    config: SnapshotConfig,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    # Before anything else: no key under the real API means no call and no write.
    youtube.check_configured()
    now = clock.now()
    try:
        cadence = parse_cadence(config.cadence, config.daily_hour_utc)
    except ValueError as err:
        raise dg.Failure(f"invalid snapshot config: {err}", allow_retries=False) from None
    windows = [hourly_partitions.time_window_for_partition_key(k) for k in context.partition_keys]
    if config.new_videos_only and len(windows) != 1:
        raise dg.Failure("new_videos_only observes one hour at a time", allow_retries=False)
    if config.collection_request_ids and not config.new_videos_only:
        raise dg.Failure("collection_request_ids needs new_videos_only", allow_retries=False)
    # Decide every hour before the first API call: a refused hour spends no quota.
    times = [(w.start, observation_time(w.start, w.end, now, youtube.simulated)) for w in windows]
    engine = warehouse.get_engine()
    in_progress = [w for w in windows if w.start <= now < w.end]
    hour_deadline = in_progress[0].end - HOUR_DEADLINE_MARGIN if in_progress else None
    # an attempt also ends before run monitoring would fail it for its runtime
    deadline = attempt_deadline(context, hour_deadline, now)
    guard = RunGuard(context.instance, context.run.run_id)

    def due(conn, hour: datetime, as_of: datetime | None) -> list[str]:
        if config.collection_request_ids:
            return collection_queue.videos_to_collect(conn, config.collection_request_ids, hour)
        if config.new_videos_only:
            ids = video_store.due_video_ids(
                conn, hour, as_of or now, cadence.tiers_json(), cadence.anchor_hour
            )
            # only videos never observed (newly registered): the rest is the scheduled run's,
            # whether or not it has run yet this hour
            return snapshot_store.never_observed(conn, ids, hour)
        # replacing the hour keeps the videos collected into it on request
        return _due_again(conn, cadence, hour, as_of or now)

    # Who is due depends on the observations before each hour, so in a multi-hour backfill
    # it is decided hour by hour; the reservation uses the due lists as they stand now, an
    # upper bound (a video observed in an earlier hour of the run can only drop out).
    with engine.connect() as conn:
        if len(times) > 1 and not config.new_videos_only and not config.collection_request_ids:
            # a backfill's hours in one query
            due_lists = collection_queue.due_or_collected_by_hour(
                conn,
                [(hour, as_of or now) for hour, as_of in times],
                cadence.tiers_json(),
                cadence.anchor_hour,
            )
            plan = [(hour, as_of, ids) for (hour, as_of), ids in zip(times, due_lists, strict=True)]
        else:
            plan = [(hour, as_of, due(conn, hour, as_of)) for hour, as_of in times]
    paced = None
    try:
        if hour_deadline is not None and now >= hour_deadline:
            raise dg.Failure(
                f"the hour {in_progress[0].start:%Y-%m-%d %H:00} UTC closes at "
                f"{in_progress[0].end:%H:%M} UTC; too late to start observing it",
                allow_retries=False,
            )
        # units a dead run still "holds" are free for this attempt (its retry, say)
        release_ended_runs(context.instance, engine, now)
        # The scheduled run of the hour in progress is paced (docs/quota-pacing.md): it
        # observes what the hour's allowance covers, in priority order, and defers the rest.
        if in_progress and len(plan) == 1 and not config.new_videos_only and plan[0][2]:
            paced = _pace(context, youtube, engine, cadence, plan[0], now, deadline)
            plan = [(plan[0][0], plan[0][1], paced.video_ids)]
        with refused_writes_fail_at_once(), stops_are_final():
            result = _collect(
                context, config, cadence, youtube, clock, engine, plan, deadline, guard, paced
            )
    except Exception as err:
        if config.collection_request_ids and not _will_retry(err, context.retry_number):
            collection_queue.fail(
                engine,
                config.collection_request_ids,
                (err.description if isinstance(err, dg.Failure) else None) or str(err),
                run_id=context.run.run_id,
                now=clock.now(),
            )
        # A failed new-videos run concerns only those videos: the hour itself is the scheduled
        # run's to observe (or to record as lost). A stopped run records nothing: the next
        # attempt observes the hour, or the hour's accounting records it once it has closed.
        if (
            not isinstance(err, RunStoppedError)
            and in_progress
            and not config.new_videos_only
            and not _will_retry(err, context.retry_number)
        ):
            _record_missed(context, engine, in_progress[0].start, err, plan)
            if paced is not None:
                # the whole hour is lost (missed_hours), not some of its videos
                try:
                    pacing_store.clear_deferrals(engine, in_progress[0].start)
                except Exception as clear_err:  # the warehouse may be what failed
                    context.log.error(
                        "could not clear the hour's deferrals: %s", type(clear_err).__name__
                    )
        raise
    finally:
        if paced is not None:
            release(engine, paced.reservations.values())
    if not config.new_videos_only and not config.collection_request_ids:
        # each hour written holds its full observation now: its record (if any) goes and its
        # alert is resolved (a collection on request observes a few videos, not the hour)
        gaps.clear_missed_hours(engine, [hour for hour, _, _ in plan])
    if config.collection_request_ids:
        collection_queue.resolve(
            engine,
            config.collection_request_ids,
            windows[0].start,
            run_id=context.run.run_id,
            now=clock.now(),
        )
    return result


def _pace(context, youtube: YouTubeResource, engine, cadence, planned, now, deadline):
    hour, as_of, due_ids = planned
    hold_for = max((deadline - now) if deadline else timedelta(hours=1), timedelta(minutes=5))
    paced = pace_hour(
        engine,
        youtube.budget,
        cadence,
        hour,
        as_of,
        len(due_ids),
        now=now,
        run_id=context.run.run_id,
        use_batch_get_stats=youtube.use_batch_get_stats,
        reserve_units=youtube.pacing_reserve_units,
        hold_for=hold_for,
        keep=collection_queue.collected_videos(engine, hour),
    )
    if not paced.video_ids:
        left = {b: a.left for b, a in paced.allowances.items()}
        raise dg.Failure(
            f"quota pacing: no unit of today's budget is left for the hour "
            f"{hour:%Y-%m-%d %H:00} UTC ({len(due_ids)} videos due; units left per bucket "
            f"{left}, {youtube.pacing_reserve_units} kept in reserve); the quota resets at "
            f"{next_reset(now):%H:%M} UTC",
            allow_retries=False,
        )
    if paced.deferred:
        context.log.warning(
            "quota pacing: observing %d of %d due videos this hour, %d deferred "
            "(ytmetrics.deferred_observations)",
            len(paced.video_ids),
            len(paced.video_ids) + paced.deferred,
            paced.deferred,
        )
    return paced


def _record_missed(context, engine, hour: datetime, err: BaseException, plan) -> None:
    reason = (err.description if isinstance(err, dg.Failure) else None) or str(err)
    due_count = next((len(ids) for h, _, ids in plan if h == hour), None)
    key = hour.strftime("%Y-%m-%d-%H:%M")
    # Reported straight to the event log: events logged by a failing step are not kept.
    context.instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key="video_metric_snapshots",
            partition=key,
            metadata={
                "observed": False,
                "reason": reason[:1000],
                "videos_due": due_count or 0,
                "run_id": context.run.run_id,
            },
        )
    )
    try:
        gaps.record_missed_hour(engine, hour, reason, context.run.run_id, due_count)
    except Exception as record_err:  # the warehouse may be what failed
        context.log.error(
            "hour %s was not observed and could not be recorded as missed: %s",
            key,
            type(record_err).__name__,
        )


def _collect(
    context: dg.AssetExecutionContext,
    config: SnapshotConfig,
    cadence: Cadence,
    youtube: YouTubeResource,
    clock: ClockResource,
    engine,
    plan,
    deadline: datetime | None,
    guard: RunGuard,
    paced: PacedHour | None = None,
) -> dg.MaterializeResult:
    run_id = context.run.run_id
    newly_unavailable: list[str] = []
    missing_ids: list[str] = []
    decreasing, worst_ratio = 0, 1.0
    source = youtube.source
    per_hour: list[tuple[str, dict]] = []
    mode = "new videos" if config.new_videos_only else "hour"
    with youtube.session(
        engine,
        run_id,
        purpose=f"{len(plan)} snapshot hour(s)"
        + (" (new videos)" if config.new_videos_only else ""),
        units=_units(plan, youtube.use_batch_get_stats),
        deadline=deadline,
        reserved=paced.reservations if paced is not None else None,
        guard=guard,
        now=clock.now(),
    ) as client:
        # the next hour's due videos, read on the connection that wrote this one
        due_next: list[str] = []
        for i, (hour, as_of, planned_ids) in enumerate(plan):
            video_ids = planned_ids if i == 0 else due_next
            started = clock.now()
            observations, missing = [], []
            attempts_before = client.calls
            if video_ids:
                fetched = client.video_statistics(
                    video_ids,
                    as_of=as_of,
                    use_batch_get_stats=youtube.use_batch_get_stats,
                    methods=paced.methods if paced is not None else None,
                )
                observations, missing, source = fetched.items, fetched.missing, fetched.source
            # attempts, retries included: each is a quota unit (the ledger has every one)
            calls = client.calls - attempts_before
            fetched_at = clock.now()
            observed_at = as_of or fetched_at
            # a run terminated (or failed by run monitoring) while fetching writes nothing
            guard.check(f"writing hour {hour:%Y-%m-%d %H:00}", fresh=True)
            write_args = {
                "observed_at": observed_at,
                "source": source,
                "run_id": run_id,
                "missing_ids": missing,
                "unavailable_after_misses": config.unavailable_after_misses,
                "videos_due": len(video_ids),
                "api_calls": calls,
            }
            # One pooled connection for the hour: its write (a transaction of its own), then
            # what the hour holds, and who is due in the next hour of the run.
            with engine.connect() as conn:
                if config.new_videos_only:
                    if not observations and not missing:
                        written = snapshot_store.SnapshotWrite(rows=0)
                    else:
                        written = snapshot_store.add_new_video_observations(
                            conn, hour, observations, **write_args
                        )
                else:
                    written = snapshot_store.replace_snapshot_partition(
                        conn,
                        hour,
                        observations,
                        decrease_tolerance=VIEWS_DECREASE_TOLERANCE,
                        **write_args,
                    )
                facts = hour_facts(conn, hour)
                written_at = clock.now()
                if i + 1 < len(plan):
                    next_hour, next_as_of, _ = plan[i + 1]
                    due_next = _due_again(conn, cadence, next_hour, next_as_of or clock.now())
            decreasing += written.decreasing
            worst_ratio = min(worst_ratio, written.worst_ratio)
            newly_unavailable.extend(written.newly_unavailable)
            missing_ids.extend(m for m in missing if m not in missing_ids)
            # Each partition shows the figures of its hour (all its batches, not this write's
            # only), also in a multi-hour backfill; short keys: they are the UI's columns.
            key = hour.strftime("%Y-%m-%d-%H:%M")
            hour_figures = {
                **facts.metadata(),
                "batch_rows": written.rows,
                "api_calls": calls,
                "missing_ids": ", ".join(missing[:50]),
                "newly_unavailable": len(written.newly_unavailable),
                "observed_at": observed_at.isoformat(),
                "fetch_s": round((fetched_at - started).total_seconds(), 3),
                "write_s": round((written_at - fetched_at).total_seconds(), 3),
                "mode": mode,
            }
            if paced is not None:
                hour_figures.update(paced.figures())
            per_hour.append((key, hour_figures))
            context.add_asset_metadata(hour_figures, partition_key=key)
    if missing_ids:
        context.log.warning(
            "%d videos missing from YouTube's answer (private, deleted or not yet public): %s",
            len(missing_ids),
            ", ".join(missing_ids[:20]),
        )
    if newly_unavailable:
        context.log.warning(
            "now unavailable after %d missed observations: %s",
            config.unavailable_after_misses,
            ", ".join(newly_unavailable[:20]),
        )
    checks = [
        dg.AssetCheckResult(
            check_name="views_not_decreasing",
            passed=decreasing == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"decreasing": decreasing, "worst_ratio": worst_ratio},
        ),
    ]
    # Facts true of every partition this run wrote; figures per hour are attached above.
    metadata = {
        **table_metadata(engine, "metric_snapshots"),
        "source": source,
        "cadence": config.cadence,
        "hours_in_run": len(per_hour),
    }
    # the quota is a fact of the (Pacific) day: observed on the quota ledger's asset
    context.log_event(
        quota_day_observation(
            engine, youtube.budget, cadence, use_batch_get_stats=youtube.use_batch_get_stats
        )
    )
    return dg.MaterializeResult(check_results=checks, metadata=metadata)


def _due_again(conn, cadence: Cadence, hour, as_of) -> list[str]:
    """Who a run replacing ``hour`` observes: the due videos and those collected into it on
    request, in one query."""
    return collection_queue.due_or_collected(
        conn, hour, as_of, cadence.tiers_json(), cadence.anchor_hour
    )
