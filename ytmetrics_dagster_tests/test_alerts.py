"""Alerts: recorded in Postgres and POSTed to a webhook receiver on 127.0.0.1."""

import json
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.analysis import video_launch_curves
from ytmetrics_dagster.defs.operations.alerts import (
    alert_delivery_sensor,
    quota_alert_sensor,
    run_failure_alert_sensor,
    viral_video_sensor,
)
from ytmetrics_dagster.defs.resources import AlertingResource, YouTubeResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.services.alerting import raise_alert
from ytmetrics_dagster.warehouse.alerts import NO_WEBHOOK, recent_alerts
from ytmetrics_dagster.youtube.simulator.world import (
    WORLD_START,
    upload_id,
    upload_interval_hours,
)

from .helpers import (
    CATALOG,
    DAY,
    current_hour,
    normal_ids,
    observe_directly,
    register,
    spend_units,
    track_directly,
)

pytestmark = pytest.mark.db


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it is sent; can fail on demand."""

    def __init__(self, port: int = 0):
        self.bodies: list[dict] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        # stopped within 50 ms (socketserver's default poll makes shutdown wait up to 0.5 s)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = hook_url(self.httpd.server_address[1])

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Hanging:
    """A port on 127.0.0.1 that accepts connections (the kernel completes the handshake) and
    never answers: the slow, stuck receiver."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = hook_url(self.port)

    def close(self):
        self.sock.close()


def hook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/hook/T0SECRET?token=secret-token"


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def deliver_tick(resources, url: str, **policy) -> tuple[str, float]:
    """One evaluation of alert_delivery_sensor; (its skip message, seconds it took)."""
    alerting = AlertingResource(webhook_url=url, **policy)
    context = dg.build_sensor_context(
        resources={"warehouse": resources["warehouse"], "alerting": alerting}
    )
    started = time.monotonic()
    result = alert_delivery_sensor(context)
    return result.skip_message, time.monotonic() - started


def alerts_table(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT alert_id, delivery_state, delivery_attempts, next_attempt_at, "
                "delivered_at, delivery_error FROM ytmetrics.alerts ORDER BY alert_id"
            )
        ).all()


def make_due(engine) -> None:
    """Time passes: every backoff is over."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ytmetrics.alerts SET next_attempt_at = now() - interval '1 second' "
                "WHERE delivery_state = 'pending'"
            )
        )


def raise_many(engine, n: int) -> list[int]:
    return [
        raise_alert(engine, "quota", f"quota:test{i}", f"quota high {i}", {"i": i})
        for i in range(n)
    ]


def test_sensors_only_record_and_the_delivery_sensor_delivers_once(engine, resources, receiver):
    first = raise_alert(engine, "quota", "quota:test", "quota high", {"units": 9000})
    again = raise_alert(engine, "quota", "quota:test", "quota high", {"units": 9001})
    assert first is not None and again is None
    assert receiver.bodies == []  # recording never calls the webhook
    message, _ = deliver_tick(resources, receiver.url)
    assert "delivered 1" in message
    deliver_tick(resources, receiver.url)
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["kind"] == "quota" and receiver.bodies[0]["details"]["units"] == 9000
    assert receiver.bodies[0]["alert_id"] == first
    (row,) = alerts_table(engine)
    assert row.delivery_state == "delivered" and row.delivered_at is not None
    assert row.delivery_attempts == 1 and row.delivery_error is None


def test_without_a_webhook_alerts_are_marked_not_delivered(engine, resources):
    raise_many(engine, 2)
    alerting = AlertingResource(webhook_url=None)
    context = dg.build_sensor_context(
        resources={"warehouse": resources["warehouse"], "alerting": alerting}
    )
    assert "no YTMETRICS_ALERT_WEBHOOK_URL" in alert_delivery_sensor(context).skip_message
    # not 'pending' forever: the state says nothing will deliver them
    rows = alerts_table(engine)
    assert {r.delivery_state for r in rows} == {"undeliverable"}
    assert {r.delivery_error for r in rows} == {NO_WEBHOOK}


def test_failures_back_off_on_the_alert_and_are_retried_until_delivered(
    engine, resources, receiver
):
    raise_alert(engine, "quota", "quota:retry", "quota high", {})
    receiver.fail_next = 2
    message, _ = deliver_tick(resources, receiver.url)
    assert "failed 1" in message
    (row,) = alerts_table(engine)
    assert row.delivery_state == "pending" and row.delivery_attempts == 1
    assert row.delivery_error == "webhook answered HTTP 503"
    first_wait = row.next_attempt_at - datetime.now(UTC)
    assert timedelta(seconds=20) < first_wait <= timedelta(seconds=30)
    # not due yet: the next tick leaves it alone
    deliver_tick(resources, receiver.url)
    assert alerts_table(engine)[0].delivery_attempts == 1
    make_due(engine)
    deliver_tick(resources, receiver.url)
    (row,) = alerts_table(engine)
    assert row.delivery_attempts == 2
    assert row.next_attempt_at - datetime.now(UTC) > timedelta(seconds=50)  # doubled
    make_due(engine)
    deliver_tick(resources, receiver.url)
    (row,) = alerts_table(engine)
    assert row.delivery_state == "delivered" and row.delivery_attempts == 3
    assert len(receiver.bodies) == 1


def test_gives_up_after_the_last_attempt(engine, resources):
    raise_alert(engine, "quota", "quota:never", "quota high", {})
    url = hook_url(refused_port())
    for _ in range(3):
        deliver_tick(resources, url, delivery_max_attempts=2)
        make_due(engine)
    (row,) = alerts_table(engine)
    assert row.delivery_state == "undeliverable" and row.delivery_attempts == 2
    assert "gave up after 2 attempts" in row.delivery_error


def test_old_undelivered_alerts_expire(engine, resources, receiver):
    raise_many(engine, 2)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ytmetrics.alerts SET created_at = now() - interval '2 days' "
                "WHERE dedupe_key = 'quota:test0'"
            )
        )
    message, _ = deliver_tick(resources, receiver.url)
    assert "delivered 1" in message and "expired 1" in message
    states = [r.delivery_state for r in alerts_table(engine)]
    assert states == ["undeliverable", "delivered"]
    assert [b["message"] for b in receiver.bodies] == ["quota high 1"]


@pytest.mark.parametrize("dead", ["hanging", "refused"])
def test_dead_webhooks_never_stretch_a_tick_past_its_budget(engine, resources, dead):
    raise_many(engine, 20)
    hanging = Hanging() if dead == "hanging" else None
    port = hanging.port if hanging else refused_port()
    url = hook_url(port)
    budget, timeout = 1.0, 0.25
    try:
        message, took = deliver_tick(
            resources,
            url,
            delivery_time_budget_seconds=budget,
            delivery_timeout_seconds=timeout,
        )
    finally:
        if hanging:
            hanging.close()
    # the bound is the budget plus the bookkeeping of one attempt, never 20 timeouts
    assert took < budget + 1.0, (took, message)
    rows = alerts_table(engine)
    attempted = [r for r in rows if r.delivery_attempts]
    # each alert gets at most one attempt a tick, oldest first
    assert {r.delivery_attempts for r in attempted} == {1}
    assert [r.alert_id for r in attempted] == [r.alert_id for r in rows[: len(attempted)]]
    if dead == "hanging":
        # 0.25 s at most each (connect and status line together): a handful fit, the rest wait
        assert 2 <= len(attempted) < 20
        assert "time budget used up" in message
        # the last attempt gets only what is left of the budget
        assert all(r.delivery_error.startswith("webhook timed out after") for r in attempted)
    else:
        assert len(attempted) == 20
        assert {r.delivery_error for r in attempted} == {"webhook unreachable (connection failed)"}
    for r in attempted:
        assert "secret" not in r.delivery_error and str(port) not in r.delivery_error

    # the receiver is back (same URL): everything is delivered once its backoff is over
    back = Receiver(port)
    try:
        make_due(engine)
        for _ in range(3):
            deliver_tick(
                resources, url, delivery_time_budget_seconds=budget, delivery_timeout_seconds=1
            )
        assert {r.delivery_state for r in alerts_table(engine)} == {"delivered"}
        assert sorted(b["details"]["i"] for b in back.bodies) == list(range(20))
    finally:
        back.close()


def test_the_webhook_url_never_appears_in_errors_logs_or_tick_messages(
    engine, resources, receiver, caplog
):
    caplog.set_level(logging.DEBUG)
    raise_many(engine, 3)
    hanging = Hanging()
    messages = []
    try:
        for url in (hanging.url, hook_url(refused_port())):
            messages.append(
                deliver_tick(
                    resources, url, delivery_time_budget_seconds=0.5, delivery_timeout_seconds=0.15
                )[0]
            )
            make_due(engine)
    finally:
        hanging.close()
    receiver.fail_next = 1
    messages.append(deliver_tick(resources, receiver.url)[0])
    messages.append(deliver_tick(resources, receiver.url)[0])  # not due: nothing
    make_due(engine)
    messages.append(deliver_tick(resources, receiver.url)[0])
    assert len(receiver.bodies) == 3
    stored = " ".join(str(r.delivery_error) for r in alerts_table(engine))
    everything = caplog.text + " ".join(messages) + stored
    assert "urllib3" in caplog.text  # the HTTP layer did log at DEBUG, scrubbed
    for secret in ("secret-token", "T0SECRET", "/hook"):
        assert secret not in everything


def test_failed_collection_run_raises_an_alert(
    engine, resources, simulator, receiver, dagster_pg_url
):
    register(engine, resources, normal_ids(1))
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_pg_url}}}
    ) as instance:
        simulator.state.script("videos", ["keyInvalid"])
        failed = dg.materialize(
            [video_metric_snapshots],
            partition_key=current_hour().strftime("%Y-%m-%d-%H:00"),  # the run's clock
            resources=dict(
                resources,
                youtube=YouTubeResource(
                    source="youtube", api_key="k-secret", base_url=simulator.base_url
                ),
            ),
            instance=instance,
            raise_on_error=False,
        )
        assert not failed.success
        run = instance.get_run_by_id(failed.run_id)
        failure_event = next(
            e
            for e in failed.all_events
            if e.event_type_value == "PIPELINE_FAILURE" or e.event_type_value == "RUN_FAILURE"
        )
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=failure_event,
            resources={"warehouse": resources["warehouse"]},
        ).for_run_failure()
        run_failure_alert_sensor(context)
    deliver_tick(resources, receiver.url)
    alerts = recent_alerts(engine).set_index("kind")
    # the run recorded the hour it could not observe; the sensor recorded the failed run
    assert set(alerts.index) == {"run_failure", "missed_hour"}
    assert failed.run_id[:8] in alerts.loc["run_failure"].message
    assert "was not observed" in alerts.loc["missed_hour"].message
    assert receiver.bodies[0]["details"]["run_id"] == failed.run_id
    assert "k-secret" not in json.dumps(receiver.bodies)


def test_quota_sensor_alerts_once_per_quota_day(engine, resources, receiver):
    now = datetime.now(UTC)
    spend_units(engine, 81, now)
    alerting = AlertingResource(webhook_url=receiver.url, quota_alert_fraction=0.8)
    youtube = YouTubeResource(source="simulator", daily_quota_units=100)
    for _ in range(2):
        context = dg.build_sensor_context(
            resources={
                "warehouse": resources["warehouse"],
                "youtube": youtube,
                "alerting": alerting,
            }
        )
        quota_alert_sensor(context)
        deliver_tick(resources, receiver.url)
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["details"]["units_used"] == 81


def test_viral_video_against_its_channel_median(engine, resources, receiver):
    # five consecutive uploads of simulated channel 0 (one every 12 h), ten days before DAY,
    # each observed around 6 h of age
    first = int(
        (DAY - timedelta(days=10) - WORLD_START).total_seconds() / 3600 / upload_interval_hours(0)
    )
    launches = [upload_id(0, n) for n in range(first, first + 5)]
    track_directly(engine, launches)
    hours = []
    for vid in launches:
        p = CATALOG.profile(vid)
        base = p.published_at.replace(minute=0, second=0, microsecond=0)
        hours += [base + timedelta(hours=h) for h in (5, 6, 7)]
    # the hours as the snapshot asset writes them (every tracked video, each hour)
    observe_directly(engine, hours)
    assert dg.materialize([video_launch_curves], resources=resources).success
    with engine.connect() as conn:
        curves = conn.execute(
            text(
                "SELECT video_id, views FROM ytmetrics.video_launch_curves WHERE age_label = '6h' AND views IS NOT NULL"
            )
        ).all()
    views = sorted(v for _, v in curves)
    median = views[len(views) // 2]
    multiple = max(v for v in views) / median * 0.99  # the top video clears it, the median does not
    alerting = AlertingResource(
        webhook_url=receiver.url, viral_multiple=max(multiple, 1.01), viral_min_channel_videos=3
    )
    context = dg.build_sensor_context(
        resources={"warehouse": resources["warehouse"], "alerting": alerting}
    )
    viral_video_sensor(context)
    deliver_tick(resources, receiver.url)
    viral = recent_alerts(engine)
    assert len(viral) >= 1 and set(viral.kind) == {"viral"}
    top = max(curves, key=lambda r: r[1])[0]
    assert top in set(b["details"]["video_id"] for b in receiver.bodies)
    # the same video at the same age never alerts twice
    viral_video_sensor(
        dg.build_sensor_context(
            resources={"warehouse": resources["warehouse"], "alerting": alerting}
        )
    )
    assert len(recent_alerts(engine)) == len(viral)
