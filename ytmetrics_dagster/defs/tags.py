"""Run tags the instance acts on, shared by every job, schedule and sensor that launches runs.

Run tags that the instance acts on (see deploy/dagster.yaml and docs/deployment.md):

- ``dagster/priority``: the run queue dequeues higher values first. The observation of the hour
  in progress (hourly schedule, new-videos sensor) cannot be repeated later, so it goes before
  registration (5) and everything else (0): refresh, analysis, daily growth, backfills and
  launchpad runs of any job, the hourly one included.
- ``dagster/max_runtime``: run monitoring fails a run that has run longer (seconds). The two
  API-bound jobs hold the ``youtube_api`` pool slot while they run, so a hung one would stop
  every hourly observation: a hung hourly run is failed (and its slot freed) well before the
  next hour's run at minute 5; ``0`` on a run lifts the bound (a long simulator backfill).
"""

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
