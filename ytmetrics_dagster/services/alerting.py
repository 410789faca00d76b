"""Alerts: recorded in Postgres by whoever notices (sensors), delivered to a webhook later.

Recording is one INSERT, so no sensor tick ever waits on a webhook. Delivery
(``deliver_pending``, run by ``alert_delivery_sensor``) works through pending alerts oldest
first within a time budget well under a sensor tick's limit: one attempt per alert per tick
with a short timeout, failures retried on later ticks with exponential backoff stored on the
alert, and an alert that exhausts its attempts is marked undeliverable.

The webhook URL is a secret like the API key: it is never logged, never stored, and errors
keep only what went wrong (status code or exception type).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import Engine
from urllib3.util import Timeout

from ytmetrics_dagster.warehouse.alerts import (
    PendingAlert,
    claim_next_delivery,
    expire_pending,
    mark_delivered,
    mark_failed,
    record_alert,
)


def raise_alert(
    engine: Engine, kind: str, dedupe_key: str, message: str, details: dict
) -> int | None:
    """Record the alert (once per key) for delivery. Returns its id, or None if raised before."""
    return record_alert(engine, kind, dedupe_key, message, details)


@dataclass(frozen=True)
class DeliveryPolicy:
    # Sensor ticks are cut off after 60 s (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS); stay far below.
    # (the daemon evaluates sensors one after another unless dagster.yaml says
    # sensors: use_threads, so this is also how long other sensors may wait)
    time_budget_seconds: float = 10.0
    # connect + status line of one attempt; never more than what is left of the budget
    timeout_seconds: float = 3.0
    max_attempts: int = 10
    backoff_seconds: float = 30.0  # before the 2nd attempt; doubles each time
    max_backoff_seconds: float = 3600.0
    max_age: timedelta = timedelta(hours=24)
    # an attempt with less time than this left is not started
    min_attempt_seconds: float = 0.2

    def retry_delay(self, attempt: int) -> timedelta:
        """Wait after failed attempt number ``attempt`` (1-based)."""
        return timedelta(
            seconds=min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        )


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    gave_up: int = 0
    expired: int = 0
    stopped_early: bool = False
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"delivered {self.delivered}, failed {self.failed} (retried later), "
            f"undeliverable {self.gave_up}, expired {self.expired}"
        )
        if self.stopped_early:
            text += "; time budget used up, the rest waits for the next tick"
        if self.errors:
            text += f"; errors: {', '.join(sorted(set(self.errors)))}"
        return text


def payload(alert: PendingAlert) -> dict:
    return {
        "source": "ytmetrics",
        "kind": alert.kind,
        "alert_id": alert.alert_id,
        "message": alert.message,
        "details": alert.details,
        "created_at": alert.created_at.isoformat(),
    }


def post_webhook(url: str, body: dict, *, timeout: float) -> str | None:
    """One POST, no retries (they happen on later ticks). None on success, else a short
    error that names neither the URL nor the host. ``timeout`` bounds connecting and
    waiting for the status line together (urllib3's total timeout)."""
    started = time.monotonic()
    with _redacted(url), requests.Session() as session:
        try:
            # stream: the status line is all we need; a body is never waited for
            with session.post(
                url, json=body, timeout=Timeout(total=timeout), stream=True
            ) as response:
                if response.status_code >= 300:
                    return f"webhook answered HTTP {response.status_code}"
                return None
        except requests.Timeout:
            return f"webhook timed out after {time.monotonic() - started:.1f} s"
        except requests.ConnectionError:
            return "webhook unreachable (connection failed)"
        except requests.RequestException as err:
            return f"webhook delivery failed: {type(err).__name__}"


def deliver_pending(
    engine: Engine, webhook_url: str, policy: DeliveryPolicy | None = None
) -> DeliveryReport:
    """Deliver pending alerts, oldest first, without exceeding the policy's time budget."""
    policy = policy or DeliveryPolicy()
    started = time.monotonic()
    report = DeliveryReport()
    report.expired = expire_pending(engine, created_before=datetime.now(UTC) - policy.max_age)
    while True:
        left = policy.time_budget_seconds - (time.monotonic() - started)
        if left < policy.min_attempt_seconds:
            report.stopped_early = True
            break
        timeout = min(policy.timeout_seconds, left)
        now = datetime.now(UTC)
        alert = claim_next_delivery(
            engine, now=now, lease_until=now + timedelta(seconds=timeout + 60)
        )
        if alert is None:
            break
        error = post_webhook(webhook_url, payload(alert), timeout=timeout)
        if error is None:
            mark_delivered(engine, alert.alert_id, at=datetime.now(UTC))
            report.delivered += 1
            continue
        report.errors.append(error)
        if alert.attempt >= policy.max_attempts:
            mark_failed(
                engine,
                alert.alert_id,
                error=f"{error} (gave up after {alert.attempt} attempts)",
                retry_at=None,
            )
            report.gave_up += 1
        else:
            retry_at = datetime.now(UTC) + policy.retry_delay(alert.attempt)
            mark_failed(engine, alert.alert_id, error=error, retry_at=retry_at)
            report.failed += 1
    return report


# urllib3 logs every request line (host, port, path and query) at DEBUG; with a webhook URL
# that is the secret itself. While a POST is in flight, its URL parts are scrubbed.
class _RedactWebhook(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[int, list[str]] = {}
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self.lock:
            secrets = [s for parts in self.secrets.values() for s in parts]
        if secrets:
            message = record.getMessage()
            if any(s in message for s in secrets):
                for s in secrets:
                    message = message.replace(s, "<webhook>")
                record.msg, record.args = message, None
        return True


_redactor = _RedactWebhook()
for _name in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.response"):
    logging.getLogger(_name).addFilter(_redactor)


class _redacted:
    def __init__(self, url: str):
        parts = urlsplit(url)
        secrets = [
            url,
            parts.netloc,
            parts.hostname or "",
            parts.path + ("?" + parts.query if parts.query else ""),
        ]
        self.secrets = sorted({s for s in secrets if s and s != "/"}, key=len, reverse=True)

    def __enter__(self):
        with _redactor.lock:
            _redactor.secrets[id(self)] = self.secrets
        return self

    def __exit__(self, *exc):
        with _redactor.lock:
            _redactor.secrets.pop(id(self), None)
