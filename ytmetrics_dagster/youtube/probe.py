"""Does the YouTube Data API answer with this key? One request, asked at start-up.

The API has no free request: "All API requests, including invalid requests, incur a quota
cost of at least one point" (YouTube Data API, quota costs). So the probe is the cheapest
useful one, a ``videos.list`` of one id (``part=id``, ``fields=items(id)``): 1 unit, sent
through the caller's ledger like every other attempt, so the unit is on record. Its answer
tells reachable or not, key valid or not, quota left or not; whether the id exists does not
matter (an unknown id is an empty, successful answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from ytmetrics_dagster.youtube.client import YouTubeClient
from ytmetrics_dagster.youtube.errors import YouTubeError

# Any well-formed id will do; this one is public and has been for years.
PROBE_VIDEO_ID = "dQw4w9WgXcQ"
PROBE_UNITS = 1


@dataclass(frozen=True)
class ApiProbe:
    answers: bool
    message: str


def probe_api(client: YouTubeClient) -> ApiProbe:
    """Ask the API once; what a person starting the deployment should read."""
    try:
        client.get("videos", {"part": "id", "id": PROBE_VIDEO_ID, "fields": "items(id)"})
    except YouTubeError as err:
        return ApiProbe(False, f"YouTube API: NOT answering as it should: {err}")
    return ApiProbe(
        True,
        f"YouTube API: reachable, key valid (checked with one videos.list, {PROBE_UNITS} quota "
        "unit, recorded in the ledger)",
    )
