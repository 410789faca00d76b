"""The registration job: applies pending registrations (and refreshes details daily)."""

import dagster as dg

from ytmetrics_dagster.defs.tags import (
    MAX_RUNTIME_TAG,
    PRIORITY_TAG,
    REGISTRATION_PRIORITY,
    TRACKED_VIDEOS_MAX_RUNTIME_SECONDS,
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
