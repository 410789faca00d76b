"""Jobs: each built once here; schedules and sensors target them.

Run tags that the instance acts on (see deploy/dagster.yaml and the README's "Deploying"):

- ``dagster/priority``: the run queue dequeues higher values first. The observation of the hour
  in progress (hourly schedule, new-videos sensor) cannot be repeated later, so it goes before
  registration (5) and everything else (0): refresh, analysis, daily growth, backfills and
  launchpad runs of any job, the hourly one included.
- ``dagster/max_runtime``: run monitoring fails a run that has run longer (seconds). The two
  API-bound jobs hold the ``youtube_api`` pool slot while they run, so a hung one would stop
  every hourly observation: a hung hourly run is failed (and its slot freed) well before the
  next hour's run at minute 5; ``0`` on a run lifts the bound (a long simulator backfill).
"""

import dagster as dg

PRIORITY_TAG = "dagster/priority"
MAX_RUNTIME_TAG = "dagster/max_runtime"
MAX_RETRIES_TAG = "dagster/max_retries"

CURRENT_HOUR_PRIORITY = 10
REGISTRATION_PRIORITY = 5
# 45 min + run monitoring's poll (30 s) + freeing the slot (60 s after the run ended): the slot is
# free again by about minute 52 of the hour after a run started at minute 5.
HOURLY_MAX_RUNTIME_SECONDS = 45 * 60
TRACKED_VIDEOS_MAX_RUNTIME_SECONDS = 30 * 60

# Tags of every run that observes the hour in progress (the hourly schedule, the new-videos
# sensor); a backfill or launchpad run of the same job keeps the default priority 0. A run whose
# worker crashed is retried once (the instance retries crashes only, not failed steps), so the
# hour can still be observed.
CURRENT_HOUR_RUN_TAGS = {PRIORITY_TAG: str(CURRENT_HOUR_PRIORITY), MAX_RETRIES_TAG: "1"}

hourly_snapshot_job = dg.define_asset_job(
    name="hourly_snapshot_job",
    selection=dg.AssetSelection.assets(
        "video_metric_snapshots", "video_growth_hourly", "channel_statistics"
    ),
    description="Observe every active video for one UTC hour, then derive that hour's growth; "
    "observe the tracked channels' statistics of the hour.",
    tags={MAX_RUNTIME_TAG: str(HOURLY_MAX_RUNTIME_SECONDS)},
)

daily_growth_job = dg.define_asset_job(
    name="daily_growth_job",
    selection=dg.AssetSelection.assets("video_growth_daily", "channel_growth_daily"),
    description="Roll a complete UTC day of hourly growth up into video and channel daily growth.",
)

analysis_job = dg.define_asset_job(
    name="analysis_job",
    selection=dg.AssetSelection.assets(
        "video_launch_curves", "channel_launch_curves", "video_milestone_projections"
    ),
    description="Refresh launch curves (with channel medians) and milestone projections.",
)

tracked_videos_job = dg.define_asset_job(
    name="tracked_videos_job",
    selection=dg.AssetSelection.assets("tracked_videos"),
    description="Apply pending registrations and (optionally) refresh details of active videos.",
    tags={
        PRIORITY_TAG: str(REGISTRATION_PRIORITY),
        MAX_RUNTIME_TAG: str(TRACKED_VIDEOS_MAX_RUNTIME_SECONDS),
    },
)


def tracked_videos_run_config(refresh_active: bool) -> dg.RunConfig:
    return dg.RunConfig(ops={"tracked_videos": {"config": {"refresh_active": refresh_active}}})


@dg.definitions
def executor() -> dg.Definitions:
    # Every job of this code location runs its steps in the run worker's own process. The steps
    # are a few seconds of set-based SQL and pooled HTTP (already concurrent inside the step), and
    # each follows the previous one; a process per step (the multiprocess default) cost ~10 s of
    # start-up per hourly run, and a step process orphaned by a dead run worker would hold on to
    # its pool slot. Pools, retries and asset checks work the same in process.
    return dg.Definitions(executor=dg.in_process_executor)
