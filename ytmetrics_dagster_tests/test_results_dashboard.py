"""The dashboard's video page JSON is its result model (``results.VideoPage``): on a rich
history (launch curves, a milestone, growth rows, a gap, a removed video), the typed
JSON is the same text as the page's values converted one by one, for every video."""

from __future__ import annotations

import json

from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.dashboard import views

from .shape_check import check_shape
from .test_dashboard import client, data  # noqa: F401 - the rich history


def test_the_video_page_json_is_its_model_for_every_video(data, client):  # noqa: F811
    filled: set[str] = set()
    for vid in [*data.channel_videos, data.other, data.removed]:
        raw = views.video_page(data.engine, vid, 30)
        typed = models.VideoPage.model_validate(raw).json_dict()
        # same keys, order, values and JSON types (an int stays an int, a float a float)
        assert json.dumps(typed) == json.dumps(models.jsonable(raw)), vid
        served = client.get(f"/api/videos/{vid}?days=30").json()
        assert served.keys() == typed.keys() and served["observations"] == typed["observations"]
        filled |= check_shape(served, models.VideoPage)
    # the data exercised the typed parts, numbers included
    assert {
        "$.launch_curve[].views",
        "$.observations[].hours_elapsed",
        "$.observations[].views_per_hour",
        "$.milestone.eta_hours",
        "$.video.removed_at",
    } <= filled
