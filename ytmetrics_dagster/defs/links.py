"""Links into the dashboard, for Dagster asset metadata (``MetadataValue.url``).

The base comes from ``YTMETRICS_DASHBOARD_URL`` (default ``http://127.0.0.1:<port>`` with
``YTMETRICS_DASHBOARD_PORT``, 3100; ``off`` disables links). These functions never raise: a
misconfigured link must not fail a materialization, so a bad setting gives ``None``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ytmetrics_dagster.settings import load_dashboard_settings
from ytmetrics_dagster.youtube.ids import is_video_id


def home_url() -> str | None:
    """The dashboard's list of tracked videos, or None when links are off or misconfigured."""
    try:
        url = load_dashboard_settings().url
    except ValueError:
        return None
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        return None
    return url


def video_url(video_id: str) -> str | None:
    """The dashboard page of one video, or None (links off, or not a video id)."""
    base = home_url()
    if base is None or not isinstance(video_id, str) or not is_video_id(video_id):
        return None
    return f"{base}/videos/{video_id}"
