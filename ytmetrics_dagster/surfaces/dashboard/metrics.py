"""``/metrics``: the warehouse's figures in Prometheus' text format (docs/monitoring.md).

A custom collector reads ``warehouse.monitoring`` at every scrape: no counter lives in this
process, so a restarted dashboard (or two of them) reports the same numbers. Metric names
start with ``ytmetrics_``; each has its HELP text.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response

from ytmetrics_dagster.domain.cadence import Cadence
from ytmetrics_dagster.settings import configured_cadence
from ytmetrics_dagster.warehouse.monitoring import MonitoringFigures, monitoring_figures
from ytmetrics_dagster.warehouse.quota import Budget

NAN = float("nan")


def families(f: MonitoringFigures) -> list:
    """The metric families of one reading of the warehouse."""
    last = GaugeMetricFamily(
        "ytmetrics_last_observed_hour_timestamp_seconds",
        "Start (Unix time, UTC) of the newest hour with at least one stored observation "
        "(NaN before the first).",
    )
    last.add_metric([], f.last_observed_hour.timestamp() if f.last_observed_hour else NAN)
    lag = GaugeMetricFamily(
        "ytmetrics_last_observed_hour_lag_seconds",
        "Seconds from the start of the newest observed hour to now: up to about 3600 plus the "
        "observation offset when every hour is observed; more means hours are being lost.",
    )
    lag.add_metric([], f.last_observed_lag_seconds if f.last_observed_hour else NAN)

    due = GaugeMetricFamily(
        "ytmetrics_videos_due",
        "Videos due for observation in the hour (hour=current|last_closed): as the hour's "
        "scheduled run decided (plus new videos observed into it), or, before that run, "
        "active videos due under the cadence now.",
        labels=["hour"],
    )
    observed = GaugeMetricFamily(
        "ytmetrics_videos_observed",
        "Videos with a stored observation for the hour (hour=current|last_closed).",
        labels=["hour"],
    )
    for name, hour in (("current", f.current), ("last_closed", f.last_closed)):
        due.add_metric([name], hour.videos_due)
        observed.add_metric([name], hour.videos_observed)

    missed = GaugeMetricFamily(
        "ytmetrics_missed_hours",
        "Hours recorded as missed (ytmetrics.missed_hours): their observations are lost.",
    )
    missed.add_metric([], f.missed_hours)
    deferred = GaugeMetricFamily(
        "ytmetrics_deferred_observations",
        "Video-hours quota pacing deferred: due, put off to a later hour (deferred_observations).",
    )
    deferred.add_metric([], f.deferred_observations)

    quota = {
        kind: GaugeMetricFamily(
            f"ytmetrics_quota_units_{kind}",
            f"YouTube API quota units {text} on the current quota day (Pacific), by bucket "
            "(default: videos.list and the rest; batchGetStats: its own daily bucket).",
            labels=["bucket"],
        )
        for kind, text in (
            ("used", "spent (every attempt, from the ledger ytmetrics.api_calls)"),
            ("reserved", "still held by open reservations of runs in progress"),
            ("budget", "allowed per day"),
        )
    }
    for q in f.quota:
        quota["used"].add_metric([q.bucket], q.used)
        quota["reserved"].add_metric([q.bucket], q.reserved)
        quota["budget"].add_metric([q.bucket], q.budget)

    pending = GaugeMetricFamily(
        "ytmetrics_registrations_pending",
        "Registration requests waiting for tracked_videos.",
    )
    pending.add_metric([], f.registrations.get("pending", 0))
    oldest = GaugeMetricFamily(
        "ytmetrics_registration_oldest_pending_age_seconds",
        "Age of the oldest pending registration request (0 when none is pending).",
    )
    oldest.add_metric(
        [],
        (f.at - f.oldest_pending_registration).total_seconds()
        if f.oldest_pending_registration
        else 0,
    )
    requests = GaugeMetricFamily(
        "ytmetrics_registration_requests",
        "Registration requests by status (pending, registered, rejected, failed).",
        labels=["status"],
    )
    for status in ("pending", "registered", "rejected", "failed"):
        requests.add_metric([status], f.registrations.get(status, 0))

    alerts = GaugeMetricFamily(
        "ytmetrics_alerts",
        "Alerts recorded, by kind and delivery state (pending, delivered, undeliverable).",
        labels=["kind", "state"],
    )
    for (kind, state), n in sorted(f.alerts.items()):
        alerts.add_metric([kind, state], n)

    calls = CounterMetricFamily(
        "ytmetrics_api_calls",
        "YouTube API attempts in the ledger, by method and outcome (ok; http_error with its "
        "status; no_answer: the connection failed; unsettled: the answer was never recorded).",
        labels=["method", "outcome", "http_status"],
    )
    for c in f.api_calls:
        status = "" if c.http_status is None else str(c.http_status)
        calls.add_metric([c.method, c.outcome, status], c.calls)

    return [last, lag, due, observed, missed, deferred, *quota.values()] + [
        pending,
        oldest,
        requests,
        alerts,
        calls,
    ]


class WarehouseCollector(Collector):
    def __init__(self, engine: Engine, budget: Budget, cadence: Cadence):
        self.engine = engine
        self.budget = budget
        self.cadence = cadence

    def collect(self):
        yield from families(
            monitoring_figures(self.engine, budget=self.budget, cadence=self.cadence)
        )


def metrics_registry(engine: Engine, budget: Budget | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector(engine, budget or Budget(), configured_cadence()))
    return registry


def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = metrics_registry(request.app.state.engine)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
