"""Growth jobs: the daily roll-up and the analysis refresh."""

import dagster as dg

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
