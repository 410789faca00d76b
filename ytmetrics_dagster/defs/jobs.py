"""Jobs: each built once here; schedules and sensors target them."""

import dagster as dg

hourly_snapshot_job = dg.define_asset_job(
    name="hourly_snapshot_job",
    selection=dg.AssetSelection.assets("video_metric_snapshots", "video_growth_hourly"),
    description="Observe every active video for one UTC hour, then derive that hour's growth.",
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
)


def tracked_videos_run_config(refresh_active: bool) -> dg.RunConfig:
    return dg.RunConfig(ops={"tracked_videos": {"config": {"refresh_active": refresh_active}}})
