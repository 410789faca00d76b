"""Build the client for a configuration: the real API, or the simulator when chosen."""

from __future__ import annotations

from ytmetrics_dagster.settings import missing_key_message
from ytmetrics_dagster.youtube.client import DEFAULT_BASE_URL, YouTubeClient
from ytmetrics_dagster.youtube.simulator import shared_simulator_url


class MissingApiKeyError(ValueError):
    pass


def build_client(
    source: str, api_key: str | None, base_url: str | None = None, **options
) -> YouTubeClient:
    """``source='youtube'`` needs a key (no silent fallback to simulated data);
    ``source='simulator'`` without a URL starts an in-process simulator on 127.0.0.1."""
    if source == "youtube":
        if not api_key:
            raise MissingApiKeyError(missing_key_message())
        return YouTubeClient(base_url or DEFAULT_BASE_URL, api_key, source="youtube", **options)
    if source != "simulator":
        raise ValueError(f"unknown source {source!r}")
    return YouTubeClient(base_url or shared_simulator_url(), api_key, source="simulator", **options)
