"""Alert sensors: failed runs, quota use, viral videos. Each records an alert in Postgres
(once per key) and POSTs it to YTMETRICS_ALERT_WEBHOOK_URL when that is set."""

from datetime import UTC, datetime

import dagster as dg

from ytmetrics_dagster.alerting import raise_alert
from ytmetrics_dagster.defs.resources import AlertingResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.warehouse.alerts import viral_candidates
from ytmetrics_dagster.warehouse.quota import quota_day, units_used


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every failed run (collection or otherwise) becomes an alert.",
)
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, alerting: AlertingResource
):
    run = context.dagster_run
    error = context.failure_event.message or "run failed"
    raise_alert(
        warehouse.get_engine(),
        alerting.webhook_url,
        "run_failure",
        f"run_failure:{run.run_id}",
        f"run {run.run_id[:8]} of {run.job_name} failed: {error[:500]}",
        {"run_id": run.run_id, "job": run.job_name, "tags": dict(run.tags)},
    )


@dg.sensor(
    name="quota_alert_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once per quota day when units used exceed the configured fraction of the budget.",
)
def quota_alert_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    youtube: YouTubeResource,
    alerting: AlertingResource,
):
    engine = warehouse.get_engine()
    day = quota_day(datetime.now(UTC))
    used = units_used(engine, day)
    limit = alerting.quota_alert_fraction * youtube.daily_quota_units
    if used <= limit:
        return dg.SkipReason(f"{used} of {youtube.daily_quota_units} units used on {day}")
    alert_id = raise_alert(
        engine,
        alerting.webhook_url,
        "quota",
        f"quota:{day}",
        f"YouTube quota: {used} of {youtube.daily_quota_units} units used on quota day {day} "
        f"(alert above {alerting.quota_alert_fraction:.0%})",
        {"quota_day": str(day), "units_used": used, "daily_quota_units": youtube.daily_quota_units},
    )
    return dg.SkipReason("alert raised" if alert_id else "already alerted today")


@dg.sensor(
    name="viral_video_sensor",
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts when a video's views at its latest launch age (its average views/hour "
    "since publication) reach a multiple of its channel's median at the same age.",
)
def viral_video_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, alerting: AlertingResource
):
    engine = warehouse.get_engine()
    candidates = viral_candidates(
        engine, alerting.viral_multiple, alerting.viral_min_channel_videos
    )
    raised = 0
    for row in candidates.itertuples():
        if raise_alert(
            engine,
            alerting.webhook_url,
            "viral",
            f"viral:{row.video_id}:{row.age_label}",
            f"video {row.video_id} has {row.views:,.0f} views at {row.age_label}, "
            f"{row.ratio:.1f}x its channel's median ({row.median_views:,.0f}, {row.channel_videos} videos)",
            {
                "video_id": row.video_id,
                "title": row.title,
                "channel_id": row.channel_id,
                "age": row.age_label,
                "views": row.views,
                "channel_median_views": row.median_views,
                "ratio": row.ratio,
            },
        ):
            raised += 1
    return dg.SkipReason(
        f"{len(candidates)} video(s) above {alerting.viral_multiple}x, {raised} new alert(s)"
    )
