"""Prometheus metrics: the dashboard's ``/metrics``, scraped over real HTTP after real
materializations against the simulator, parsed with prometheus_client's own parser, holds
exactly what the warehouse holds; and the Grafana dashboard and scrape config in deploy/
use only metrics that exist."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.settings import configured_cadence
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.surfaces.dashboard.metrics import families
from ytmetrics_dagster.warehouse.monitoring import monitoring_figures
from ytmetrics_dagster.warehouse.quota import Budget, quota_day, reserve
from ytmetrics_dagster.warehouse.registrations import queue_registrations
from ytmetrics_dagster.warehouse.videos import due_video_ids

from .helpers import (
    current_hour,
    free_port,
    hour_key,
    nonexistent_id,
    normal_ids,
    register,
    track_directly,
)

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "deploy" / "grafana" / "ytmetrics-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"


def serve(engine):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample as {(name, sorted labels): value}, through prometheus_client's parser."""
    response = requests.get(url + "/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        assert family.documentation, family.name  # every metric has its HELP text
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def one(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_a_scrape_holds_what_the_warehouse_holds(engine, resources, simulator):
    hour = current_hour()
    closed = hour - timedelta(hours=1)
    ids = normal_ids(3)
    register(engine, resources, [*ids, nonexistent_id()])
    for partition in (closed, hour):
        if partition == hour:
            simulator.state.script("videos", ["500"])  # one failed attempt, then retried
        assert dg.materialize(
            [video_metric_snapshots], partition_key=hour_key(partition), resources=resources
        ).success
    later = normal_ids(4)[3]
    queue_registrations(engine, [(later, later)], requested_by="cli")
    now = datetime.now(UTC)
    reserve(engine, Budget(), 7, now, purpose="test", run_id="test-run")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.missed_hours (snapshot_hour, reason) "
                "VALUES (:h1, 'test'), (:h2, 'test')"
            ),
            {"h1": hour - timedelta(hours=30), "h2": hour - timedelta(hours=31)},
        )
        conn.execute(
            text(
                """
                INSERT INTO ytmetrics.alerts (kind, dedupe_key, message, delivery_state) VALUES
                    ('quota', 'q1', 'm', 'pending'), ('quota', 'q2', 'm', 'pending'),
                    ('run_failure', 'r1', 'm', 'undeliverable')
                """
            )
        )

    server, thread, url = serve(engine)
    try:
        samples = scrape(url)
    finally:
        server.should_exit = True
        thread.join(10)

    def value(name: str, **labels) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    # the hour last observed, and its lag
    assert value("ytmetrics_last_observed_hour_timestamp_seconds") == hour.timestamp()
    lag = value("ytmetrics_last_observed_hour_lag_seconds")
    assert 0 <= lag - (now - hour).total_seconds() < 60
    # due and observed, this hour and the last closed one: the scheduler's own query and rows
    cadence = configured_cadence()
    for label, h in (("current", hour), ("last_closed", closed)):
        due = due_video_ids(engine, h, datetime.now(UTC), cadence.tiers_json(), cadence.anchor_hour)
        observed = one(
            engine, "SELECT count(*) FROM ytmetrics.metric_snapshots WHERE snapshot_hour = :h", h=h
        )
        assert value("ytmetrics_videos_due", hour=label) == len(due)
        assert value("ytmetrics_videos_observed", hour=label) == observed == 3
    assert value("ytmetrics_missed_hours") == 2
    assert value("ytmetrics_deferred_observations") == 0  # nothing deferred
    # quota by bucket: the ledger's units, the open reservation, the budget
    day = quota_day(now)
    used = one(
        engine,
        "SELECT sum(units) FROM ytmetrics.api_calls WHERE quota_day = :d AND bucket = 'default'",
        d=day,
    )
    assert used >= 4  # details (1), two hours (1 each), the failed attempt (1)
    assert value("ytmetrics_quota_units_used", bucket="default") == used
    assert value("ytmetrics_quota_units_used", bucket="batchGetStats") == 0
    assert value("ytmetrics_quota_units_reserved", bucket="default") == 7
    assert value("ytmetrics_quota_units_budget", bucket="default") == Budget().daily_units
    assert value("ytmetrics_quota_units_budget", bucket="batchGetStats") == 10_000
    # the registration queue
    assert value("ytmetrics_registrations_pending") == 1
    assert value("ytmetrics_registration_requests", status="registered") == 3
    assert value("ytmetrics_registration_requests", status="rejected") == 1
    assert value("ytmetrics_registration_requests", status="failed") == 0
    assert 0 <= value("ytmetrics_registration_oldest_pending_age_seconds") < 120
    # alerts by kind and state
    assert value("ytmetrics_alerts", kind="quota", state="pending") == 2
    assert value("ytmetrics_alerts", kind="run_failure", state="undeliverable") == 1
    # API call outcomes: every ledger row, by what came of it
    with engine.connect() as conn:
        by_outcome = {
            (r.method, r.http_status): r.n
            for r in conn.execute(
                text(
                    "SELECT method, http_status, count(*) AS n FROM ytmetrics.api_calls "
                    "GROUP BY 1, 2"
                )
            )
        }
    assert by_outcome[("videos", 500)] == 1
    exported = {
        (dict(k[1])["method"], dict(k[1])["http_status"]): v
        for k, v in samples.items()
        if k[0] == "ytmetrics_api_calls_total"
    }
    assert exported == {(m, str(s)): n for (m, s), n in by_outcome.items()}
    assert (
        value("ytmetrics_api_calls_total", method="videos", outcome="http_error", http_status="500")
        == 1
    )


def test_before_the_hours_run_who_is_due_is_the_schedulers_query(engine):
    track_directly(engine, normal_ids(4))
    cadence = configured_cadence()
    now = datetime.now(UTC)
    figures = monitoring_figures(engine, budget=Budget(), cadence=cadence, now=now)
    hour = now.replace(minute=0, second=0, microsecond=0)
    due = due_video_ids(engine, hour, now, cadence.tiers_json(), cadence.anchor_hour)
    assert figures.current.videos_due == len(due) == 4
    assert figures.current.videos_observed == 0


def test_nothing_is_counted_in_the_process(engine):
    """Two readings of an unchanged warehouse are equal: the numbers live in the tables."""
    cadence = configured_cadence()
    at = datetime.now(UTC)
    first = monitoring_figures(engine, budget=Budget(), cadence=cadence, now=at)
    again = monitoring_figures(engine, budget=Budget(), cadence=cadence, now=at)
    assert first == again
    assert first.last_observed_hour is None and first.last_observed_lag_seconds is None
    names = {f.name for f in families(first)}
    assert all(n.startswith("ytmetrics_") for n in names)


def test_deferred_observations_are_counted(engine):
    cadence = configured_cadence()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.videos (video_id, title, status, source)"
                " VALUES ('deferred001', 'deferred', 'active', 'simulator')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO ytmetrics.deferred_observations"
                " (snapshot_hour, video_key, reason, every_hours, first_48h, priority_rank)"
                " SELECT date_trunc('hour', now()) - make_interval(hours => h), video_key,"
                " 'quota', 1, true, 1 FROM ytmetrics.videos, generate_series(0, 1) h"
            )
        )
    assert monitoring_figures(engine, budget=Budget(), cadence=cadence).deferred_observations == 2


def exported_names() -> set[str]:
    """The sample names /metrics can expose (counters gain _total)."""
    from ytmetrics_dagster.warehouse.monitoring import HourFigures, MonitoringFigures

    at = datetime.now(UTC)
    hour = HourFigures(at, 0, 0)
    figures = MonitoringFigures(at, at, hour, hour, 0, 0, "", [], {}, None, {}, [])
    names = set()
    for family in families(figures):
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


@pytest.mark.unit
def test_the_grafana_dashboard_uses_only_existing_metrics():
    dashboard = json.loads(GRAFANA.read_text())
    assert dashboard["title"] and dashboard["panels"]
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert len(exprs) >= 8
    names = exported_names()
    used = set()
    for expr in exprs:
        for name in re.findall(r"\bytmetrics_[a-z0-9_]+", expr):
            assert name in names, (name, expr)
            used.add(name)
    # every metric is on the dashboard
    assert used == names, names - used


@pytest.mark.unit
def test_the_prometheus_config_scrapes_the_dashboard():
    config = yaml.safe_load(PROMETHEUS.read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "ytmetrics"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"]


def test_the_route_is_get_only(engine):
    from starlette.testclient import TestClient

    with TestClient(create_app(engine)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.post("/metrics").status_code == 405
