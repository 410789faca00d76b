"""Housekeeping of Dagster's own storage: finished runs and their event logs older than
YTMETRICS_DAGSTER_RUN_RETENTION_DAYS (default 90, 0 keeps everything) are purged daily.

Dagster OSS purges schedule and sensor ticks itself (the ``retention:`` section of
dagster.yaml) but never runs or their events; at a run an hour plus sensor-launched runs that
is thousands of runs and millions of event rows a year in the instance database. The
warehouse's data never depends on them: snapshots live in ``ytmetrics``, not in Dagster.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.settings import dagster_run_retention_days

# Only finished runs are ever deleted; queued, starting, started or canceling ones stay.
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def purge_finished_runs(
    instance: dg.DagsterInstance,
    finished_before: datetime,
    *,
    batch_size: int = 200,
    max_runs: int | None = None,
) -> int:
    """Delete finished runs last updated before ``finished_before``, with their event logs
    (``DagsterInstance.delete_run``), oldest first, ``batch_size`` at a time. Returns how
    many were deleted."""
    purged = 0
    while max_runs is None or purged < max_runs:
        limit = batch_size if max_runs is None else min(batch_size, max_runs - purged)
        records = instance.get_run_records(
            filters=dg.RunsFilter(statuses=FINISHED, updated_before=finished_before),
            limit=limit,
            ascending=True,
        )
        if not records:
            break
        for record in records:
            instance.delete_run(record.dagster_run.run_id)
        purged += len(records)
    return purged


class PurgeRunsConfig(dg.Config):
    retention_days: int = Field(
        default=dagster_run_retention_days(),
        ge=0,
        description="Finished runs older than this many days are deleted with their event "
        "logs; 0 keeps everything. Default: YTMETRICS_DAGSTER_RUN_RETENTION_DAYS, else 90.",
    )
    batch_size: int = Field(default=200, ge=1, description="Runs looked up per batch.")
    max_runs: int = Field(
        default=20_000, ge=1, description="At most this many runs per run; the rest next day."
    )


@dg.op(description="Delete finished Dagster runs (and their event logs) older than the retention.")
def purge_old_dagster_runs(context: dg.OpExecutionContext, config: PurgeRunsConfig):
    if config.retention_days == 0:
        context.log.info("run retention is 0 days: keeping every run")
        return dg.Output(0, metadata={"runs_purged": 0, "retention_days": 0})
    cutoff = datetime.now(UTC) - timedelta(days=config.retention_days)
    purged = purge_finished_runs(
        context.instance, cutoff, batch_size=config.batch_size, max_runs=config.max_runs
    )
    context.log.info("purged %d finished run(s) last updated before %s", purged, cutoff.isoformat())
    return dg.Output(
        purged,
        metadata={
            "runs_purged": purged,
            "retention_days": config.retention_days,
            "cutoff": cutoff.isoformat(),
            "hit_max_runs": purged >= config.max_runs,
        },
    )


@dg.job(
    description="Purge Dagster's finished runs and event logs older than "
    "YTMETRICS_DAGSTER_RUN_RETENTION_DAYS (default 90; 0 keeps everything)."
)
def dagster_run_purge_job():
    purge_old_dagster_runs()


dagster_run_purge_schedule = dg.ScheduleDefinition(
    name="dagster_run_purge_schedule",
    job=dagster_run_purge_job,
    cron_schedule="45 4 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 04:45 UTC: purge old finished runs and their event logs.",
)
