"""Alert sensors. Failed runs, quota use, viral videos and a quota capacity shortfall are
recorded in Postgres (once per key) by the sensor that notices them; ``alert_delivery_sensor``
alone talks to YTMETRICS_ALERT_WEBHOOK_URL, within a time budget, so an unreachable webhook
never holds up a tick."""

from datetime import UTC, datetime

import dagster as dg

from ytmetrics_dagster.defs.outage import skips_while_warehouse_down
from ytmetrics_dagster.defs.resources import AlertingResource, WarehouseResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.quota_metadata import current_capacity
from ytmetrics_dagster.services.alerting import DeliveryPolicy, deliver_pending, raise_alert
from ytmetrics_dagster.services.quota_status import quota_status
from ytmetrics_dagster.warehouse.alerts import (
    close_without_webhook,
    delivery_backlog,
    viral_candidates,
)
from ytmetrics_dagster.warehouse.quota import quota_day, units_used


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every failed run (collection or otherwise) becomes an alert.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    run = context.dagster_run
    error = context.failure_event.message or "run failed"
    raise_alert(
        warehouse.get_engine(),
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
@skips_while_warehouse_down
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
        "quota",
        f"quota:{day}",
        f"YouTube quota: {used} of {youtube.daily_quota_units} units used on quota day {day} "
        f"(alert above {alerting.quota_alert_fraction:.0%})",
        {"quota_day": str(day), "units_used": used, "daily_quota_units": youtube.daily_quota_units},
    )
    return dg.SkipReason("alert raised" if alert_id else "already alerted today")


@dg.sensor(
    name="quota_capacity_sensor",
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Warns (log + alert, once per quota day) when the units a day the tracked set "
    "needs (statistics under the cadence tiers, daily details refresh, channel discovery, "
    "registrations) exceed the daily budget: collection would start failing for lack of quota.",
)
@skips_while_warehouse_down
def quota_capacity_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    youtube: YouTubeResource,
):
    engine = warehouse.get_engine()
    capacity, counts = current_capacity(
        engine, youtube.budget, use_batch_get_stats=youtube.use_batch_get_stats
    )
    summary = (
        f"{capacity.needed_units} units/day needed of {capacity.budget_units} "
        f"(hourly {capacity.hourly_units}, tiered {capacity.tiered_units}, refresh "
        f"{capacity.refresh_units}, discovery {capacity.discovery_units}, registrations "
        f"{capacity.registration_units})"
    )
    if youtube.use_batch_get_stats:
        summary += (
            f"; batchGetStats {capacity.batch_stats_needed_units} of "
            f"{capacity.batch_stats_budget_units}"
        )
    status = quota_status(engine, youtube.budget, use_batch_get_stats=youtube.use_batch_get_stats)
    deferred = status["deferred_today"]
    run_out = status["forecast"]["budget_runs_out_without_pacing_utc"]
    if not capacity.over_budget and not deferred["total"]:
        return dg.SkipReason(f"{summary}; {capacity.more_hourly_videos_fit} more hourly videos fit")
    # Pacing defers videos instead of losing hours; the alert says what the day costs.
    message = (
        f"YouTube quota capacity exceeded: {summary}; {deferred['total']} videos deferred "
        f"today ({', '.join(f'{k} {v}' for k, v in deferred['by_tier'].items()) or 'none yet'})"
        f"; without pacing the budget would run out at {run_out or 'no hour (the day fits)'}"
        f"; {capacity.more_hourly_videos_fit} more hourly videos fit"
    )
    context.log.warning(message)
    day = quota_day(datetime.now(UTC))
    alert_id = raise_alert(
        engine,
        "capacity",
        f"capacity:{day}",
        message,
        {
            "quota_day": str(day),
            "units_per_day_needed": capacity.needed_units,
            "units_per_day_budget": capacity.budget_units,
            "hourly": capacity.hourly_units,
            "tiered": capacity.tiered_units,
            "refresh": capacity.refresh_units,
            "discovery": capacity.discovery_units,
            "registrations": capacity.registration_units,
            "batch_get_stats_needed": capacity.batch_stats_needed_units,
            "batch_get_stats_budget": capacity.batch_stats_budget_units,
            "deferred_today": deferred["total"],
            "deferred_today_by_tier": deferred["by_tier"],
            "budget_runs_out_without_pacing_utc": run_out,
            "more_hourly_videos_fit": capacity.more_hourly_videos_fit,
            "day_hours": status["day_hours"],
            **counts,
        },
    )
    return dg.SkipReason(message + ("; alert raised" if alert_id else "; already alerted today"))


@dg.sensor(
    name="viral_video_sensor",
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts when a video's views at its latest launch age (its average views/hour "
    "since publication) reach a multiple of its channel's median at the same age.",
)
@skips_while_warehouse_down
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


@dg.sensor(
    name="alert_delivery_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="POSTs pending alerts to YTMETRICS_ALERT_WEBHOOK_URL, oldest first, within a "
    "time budget per tick (10 s by default, far under the 60 s tick limit): one attempt per "
    "alert per tick with a short timeout; failures are retried on later ticks with "
    "exponential backoff, and after the last attempt the alert is marked undeliverable.",
)
@skips_while_warehouse_down
def alert_delivery_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, alerting: AlertingResource
):
    if not alerting.webhook_url:
        closed = close_without_webhook(warehouse.get_engine())
        return dg.SkipReason(
            f"no YTMETRICS_ALERT_WEBHOOK_URL: {closed} alert(s) marked not delivered; they stay "
            "in ytmetrics.alerts for `ytmetrics alerts` and the dashboard"
        )
    engine = warehouse.get_engine()
    report = deliver_pending(
        engine,
        alerting.webhook_url,
        DeliveryPolicy(
            time_budget_seconds=alerting.delivery_time_budget_seconds,
            timeout_seconds=alerting.delivery_timeout_seconds,
            max_attempts=alerting.delivery_max_attempts,
        ),
    )
    backlog = delivery_backlog(engine)
    summary = f"{report.summary()}; {backlog['pending']} pending"
    if report.failed or report.gave_up:
        context.log.warning(summary)
    return dg.SkipReason(summary)
