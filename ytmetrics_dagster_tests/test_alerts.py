"""Alerts: recorded in Postgres and POSTed to a webhook receiver on 127.0.0.1."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.alerting import raise_alert
from ytmetrics_dagster.defs.alerts import (
    quota_alert_sensor,
    run_failure_alert_sensor,
    viral_video_sensor,
)
from ytmetrics_dagster.defs.assets.analysis import video_launch_curves
from ytmetrics_dagster.defs.assets.snapshots import video_metric_snapshots
from ytmetrics_dagster.defs.assets.videos import tracked_videos
from ytmetrics_dagster.defs.resources import AlertingResource, YouTubeResource
from ytmetrics_dagster.warehouse.alerts import recent_alerts
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster.youtube.simulator.catalog import (
    WORLD_START,
    upload_id,
    upload_interval_hours,
)

from .helpers import CATALOG, DAY, normal_ids, spend_units


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it is sent; can fail on demand."""

    def __init__(self):
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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook?token=secret-token"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_alert_is_recorded_once_and_delivered_with_retries(engine, receiver):
    receiver.fail_next = 2  # two 503s, then success
    first = raise_alert(engine, receiver.url, "quota", "quota:test", "quota high", {"units": 9000})
    again = raise_alert(engine, receiver.url, "quota", "quota:test", "quota high", {"units": 9001})
    assert first is not None and again is None
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["kind"] == "quota" and receiver.bodies[0]["details"]["units"] == 9000
    row = recent_alerts(engine).iloc[0]
    assert row.delivered_at is not None and row.delivery_error is None


def test_an_unreachable_webhook_never_blocks_and_never_leaks_the_url(engine):
    url = "http://127.0.0.1:9/hook?token=secret-token"  # discard port: refused
    alert_id = raise_alert(engine, url, "quota", "quota:down", "quota high", {})
    row = recent_alerts(engine).iloc[0]
    assert row.alert_id == alert_id and row.delivered_at is None
    assert "secret-token" not in row.delivery_error and "127.0.0.1" not in row.delivery_error


def test_failed_collection_run_raises_an_alert(
    engine, resources, simulator, receiver, dagster_pg_url
):
    queue_registrations(engine, [(v, v) for v in normal_ids(1)])
    dg.materialize([tracked_videos], resources=resources)
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_pg_url}}}
    ) as instance:
        simulator.state.script("videos", ["keyInvalid"])
        failed = dg.materialize(
            [video_metric_snapshots],
            partition_key=datetime.now(UTC).strftime("%Y-%m-%d-%H:00"),
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
            resources={
                "warehouse": resources["warehouse"],
                "alerting": AlertingResource(webhook_url=receiver.url),
            },
        ).for_run_failure()
        run_failure_alert_sensor(context)
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
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["details"]["units_used"] == 81


def test_viral_video_against_its_channel_median(engine, resources, receiver):
    # five consecutive uploads of simulated channel 0 (one every 12 h), ten days before DAY,
    # each observed around 6 h of age
    first = int(
        (DAY - timedelta(days=10) - WORLD_START).total_seconds() / 3600 / upload_interval_hours(0)
    )
    launches = [upload_id(0, n) for n in range(first, first + 5)]
    queue_registrations(engine, [(v, v) for v in launches])
    assert dg.materialize([tracked_videos], resources=resources).success
    for vid in launches:
        p = CATALOG.profile(vid)
        base = p.published_at.replace(minute=0, second=0, microsecond=0)
        for h in (5, 6, 7):
            dg.materialize(
                [video_metric_snapshots],
                partition_key=(base + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M"),
                resources=resources,
            )
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
