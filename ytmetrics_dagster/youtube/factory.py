"""Build the client for a configuration: the real API with a key, the simulator without."""

from __future__ import annotations

from ytmetrics_dagster.youtube.client import DEFAULT_BASE_URL, YouTubeClient
from ytmetrics_dagster.youtube.simulator import shared_simulator_url


def build_client(api_key: str | None, base_url: str | None = None, **options) -> YouTubeClient:
    """No key and no URL: an in-process simulator on 127.0.0.1 (data labelled simulated)."""
    if base_url is None:
        base_url = DEFAULT_BASE_URL if api_key else shared_simulator_url()
    return YouTubeClient(base_url, api_key, **options)
