"""Alert delivery: record in Postgres, then POST a JSON message to a webhook if configured.

Delivery never blocks or fails the pipeline: a short timeout, a few retries with backoff
(urllib3 ``Retry``), and any failure is stored on the alert instead of raised. The webhook
URL is a secret like the API key: it is never logged, and is scrubbed from stored errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import Engine
from urllib3.util.retry import Retry

from ytmetrics_dagster.warehouse.alerts import mark_delivery, record_alert


def post_webhook(url: str, payload: dict, *, timeout: float = 5.0, retries: int = 3) -> str | None:
    """POST ``payload``; None on success, else a short error with the URL removed."""
    session = requests.Session()
    retry = Retry(
        total=retries,
        backoff_factor=0.2,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"POST"}),
        raise_on_status=False,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    try:
        response = session.post(url, json=payload, timeout=timeout)
        if response.status_code >= 300:
            return f"webhook answered HTTP {response.status_code}"
        return None
    except requests.RequestException as err:
        return f"webhook delivery failed: {type(err).__name__}"
    finally:
        session.close()


def raise_alert(
    engine: Engine, webhook_url: str | None, kind: str, dedupe_key: str, message: str, details: dict
) -> int | None:
    """Record (once per key) and deliver. Returns the alert id, or None if already raised."""
    alert_id = record_alert(engine, kind, dedupe_key, message, details)
    if alert_id is None or not webhook_url:
        return alert_id
    payload = {
        "source": "ytmetrics",
        "kind": kind,
        "alert_id": alert_id,
        "message": message,
        "details": details,
        "created_at": datetime.now(UTC).isoformat(),
    }
    error = post_webhook(webhook_url, payload)
    mark_delivery(engine, alert_id, delivered_at=None if error else datetime.now(UTC), error=error)
    return alert_id
