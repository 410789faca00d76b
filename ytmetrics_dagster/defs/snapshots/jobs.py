"""The hourly observation job (the schedule, the new-videos sensor, the watchdog and collect-now target it)."""

import dagster as dg

from ytmetrics_dagster.defs.tags import HOURLY_MAX_RUNTIME_SECONDS, MAX_RUNTIME_TAG

hourly_snapshot_job = dg.define_asset_job(
    name="hourly_snapshot_job",
    selection=dg.AssetSelection.assets(
        "video_metric_snapshots", "video_growth_hourly", "channel_statistics"
    ),
    description="Observe every active video for one UTC hour, then derive that hour's growth; "
    "observe the tracked channels' statistics of the hour.",
    tags={MAX_RUNTIME_TAG: str(HOURLY_MAX_RUNTIME_SECONDS)},
)
