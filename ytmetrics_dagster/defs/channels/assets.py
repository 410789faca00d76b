"""``channel_statistics``: every tracked channel's subscribers, views and videos, observed each
UTC hour with the hourly snapshot run (``channels.list`` part=statistics: 1 unit per 50
channels, through the same client, quota ledger and ``youtube_api`` pool as the videos)."""

import dagster as dg

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
from ytmetrics_dagster.defs.snapshots.assets import HOUR_DEADLINE_MARGIN, observation_time
from ytmetrics_dagster.defs.snapshots.run_guard import RunGuard, stops_are_final
from ytmetrics_dagster.warehouse import channel_stats
from ytmetrics_dagster.warehouse.quota import units_for_ids


@dg.asset(
    metadata=table_name("channel_statistics"),
    freshness_policy=HOURLY_FRESHNESS,
    group_name="channels",
    kinds={"postgres", "youtube"},
    partitions_def=hourly_partitions,
    deps=["channels"],
    pool="youtube_api",
    retry_policy=youtube_retry_policy,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "Hourly statistics of every tracked channel (table ytmetrics.channel_statistics; gains "
        "since each previous observation in the view ytmetrics.channel_statistics_growth): "
        "subscribers (NULL when the channel hides them), total views, public videos. "
        "channels.list part=statistics, 50 channels a call, 1 quota unit each. Like the video "
        "snapshots, only the hour in progress can be observed from the real API; re-running "
        "an hour replaces it."
    ),
)
def channel_statistics(
    context: dg.AssetExecutionContext,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    youtube.check_configured()
    # the hour in progress and its deadline on the clock the video snapshots read
    now = clock.now()
    windows = [hourly_partitions.time_window_for_partition_key(k) for k in context.partition_keys]
    times = [(w.start, observation_time(w.start, w.end, now, youtube.simulated)) for w in windows]
    engine = warehouse.get_engine()
    channel_ids = channel_stats.tracked_channel_ids(engine)
    in_progress = [w for w in windows if w.start <= now < w.end]
    deadline = in_progress[0].end - HOUR_DEADLINE_MARGIN if in_progress else None
    if deadline is not None and now >= deadline:
        raise dg.Failure("too late in the hour to observe channel statistics", allow_retries=False)
    units = units_for_ids(len(channel_ids)) * len(times) if channel_ids else 0
    source = youtube.source
    # a stopped run stops (docs/self-healing.md): no call or write once it is terminated
    guard = RunGuard(context.instance, context.run.run_id)
    with (
        refused_writes_fail_at_once(),
        stops_are_final(),
        youtube.session(
            engine,
            context.run.run_id,
            purpose=f"channel statistics, {len(times)} hour(s)",
            units={"default": units} if units else None,
            deadline=deadline,
            guard=guard,
            now=now,
        ) as client,
    ):
        for hour, as_of in times:
            found, missing = [], []
            calls_before = client.calls
            if channel_ids:
                found, missing = client.channel_statistics(channel_ids, as_of=as_of)
                source = client.source_seen or client.source_hint or source
            observed_at = as_of or clock.now()
            guard.check(f"writing channel statistics of {hour:%Y-%m-%d %H:00}", fresh=True)
            written = channel_stats.replace_hour(
                engine,
                hour,
                found,
                observed_at=observed_at,
                source=source,
                run_id=context.run.run_id,
            )
            growth = channel_stats.hour_growth(engine, hour)
            context.add_asset_metadata(
                {
                    "dagster/row_count": written,
                    "channels": len(channel_ids),
                    "missed": len(missing),
                    "hidden_subs": growth["hidden"],
                    "views_gained": growth["views_gained"],
                    "subs_gained": growth["subs_gained"],
                    "api_calls": client.calls - calls_before,
                    "observed_at": observed_at.isoformat(),
                },
                partition_key=hour.strftime("%Y-%m-%d-%H:%M"),
            )
    return dg.MaterializeResult(
        metadata={**table_metadata(engine, "channel_statistics"), "source": source}
    )
