"""The dashboard's JSON twins are their result models (``results.VideoPage``, ``ListPage``,
``ComparePage``, ``ChannelPage``) and its CSV tables are their JSON's rows: on a rich history
(launch curves, a milestone, growth rows, a gap, a removed video), the typed JSON is the same
text as the page's values converted one by one (what the routes served before the models),
and every CSV the same bytes, headers included, as the hand-written columns wrote them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from ytmetrics_dagster.surfaces import results as models
from ytmetrics_dagster.surfaces.dashboard import channel_page, compare, csv_export, views

from .helpers import CATALOG
from .shape_check import check_shape
from .test_dashboard import client, data  # noqa: F401 - the rich history

pytestmark = pytest.mark.db

# The CSV headers as they were written by hand before the models gave them.
LIST_HEADER = (
    "video_id,title,gained_24h,views_per_hour,latest_views,last_observed_at,channel_id,"
    "channel_title,published_at,status,added_at,source"
)
OBSERVATIONS_HEADER = (
    "snapshot_hour,observed_at,view_count,like_count,comment_count,views_gained,hours_elapsed,"
    "views_per_hour,source"
)
LAUNCH_HEADER = (
    "age_label,age_hours,views,interpolated,channel_median_views,channel_videos,ratio_to_median"
)
COMPARE_HEADER = "video_id,observed_at,age_hours,views,views_per_hour,hours_elapsed"
COMPARE_VIDEOS_HEADER = (
    "video_id,title,channel_id,channel_title,published_at,status,gained_24h,views_per_hour"
)
HISTORY_HEADER = (
    "snapshot_hour,observed_at,subscriber_count,view_count,video_count,subscribers_gained,"
    "views_gained,videos_gained,hours_elapsed,views_per_hour"
)
CHANNEL_VIDEOS_HEADER = (
    "video_id,title,published_at,status,gained_24h,views_per_hour,latest_views,last_observed_at"
)


def same_json(raw: dict, model: type[models.Result]) -> dict:
    """The model's JSON of ``raw``, asserted to be the same text as ``raw`` converted value by
    value (same keys, order, values and JSON types: an int stays an int, a float a float)."""
    typed = model.model_validate(raw).json_dict()
    assert json.dumps(typed) == json.dumps(models.jsonable(raw))
    return typed


def old_csv(rows: list[dict], header: str) -> str:
    """A CSV as the dashboard wrote it before: the page's values, cell by cell, under the
    hand-written columns (timestamps as the JSON writes them, floats by repr, empty for null)."""

    def cell(value) -> str:
        value = models.jsonable(value)
        if value is None:
            return ""
        return repr(value) if type(value) is float else str(value)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header.split(","))
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in header.split(",")])
    return buffer.getvalue()


def served(client, path: str, model: type[models.Result], raw: dict, filled: set) -> dict:  # noqa: F811
    """The route's JSON: the model's JSON of the page's values."""
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    check_shape(body, model, filled=filled)
    typed = same_json(raw, model)
    assert body.keys() == typed.keys()
    return body


def served_csv(client, path: str) -> str:  # noqa: F811
    answer = client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return answer.text


def check_list(client, engine, filled: set, **params) -> None:  # noqa: F811
    query = views.ListQuery(**params)
    qs = urlencode(query.as_params())
    # growth is relative to now: the page's values and its CSV at one instant
    raw = views.video_list(engine, query, now=datetime.now(UTC))
    body = served(client, f"/api/videos?{qs}", models.ListPage, raw, filled)
    typed = same_json(raw, models.ListPage)
    assert [v["video_id"] for v in body["videos"]] == [v["video_id"] for v in typed["videos"]]
    assert body["query"] == typed["query"] and body["channels"] == typed["channels"]
    expected = old_csv(raw["videos"], LIST_HEADER)
    assert csv_export.csv_text(typed["videos"], csv_export.LIST_COLUMNS) == expected
    answer = served_csv(client, f"/?{qs}&format=csv" if qs else "/?format=csv")
    assert answer.splitlines()[0] == LIST_HEADER
    assert [r.split(",")[0] for r in answer.splitlines()] == [
        r.split(",")[0] for r in expected.splitlines()
    ]


def check_compare(client, engine, ids: list[str], search: str | None, filled: set) -> None:  # noqa: F811
    query = compare.CompareQuery(video_ids=tuple(ids), search=search, age_days=30, days=30)
    raw = compare.compare_page(engine, query)
    path = query.url(prefix="/api/compare", **({"q": search} if search else {}))
    body = served(client, path, models.ComparePage, raw, filled)
    typed = same_json(raw, models.ComparePage)
    assert [v["by_age"] for v in body["videos"]] == [v["by_age"] for v in typed["videos"]]
    assert body["search_results"] == typed["search_results"]
    page_path = query.url(**({"q": search} if search else {}))
    by_age = served_csv(client, f"{page_path}&format=csv")
    assert by_age == old_csv(compare.csv_rows(raw, "by_age"), COMPARE_HEADER)
    # by calendar time and the videos' growth are relative to now: at one instant
    by_time = csv_export.csv_text(compare.csv_rows(typed, "by_time"), compare.COMPARE_CSV_COLUMNS)
    assert by_time == old_csv(compare.csv_rows(raw, "by_time"), COMPARE_HEADER)
    chosen = csv_export.csv_text(typed["videos"], compare.VIDEO_CSV_COLUMNS)
    assert chosen == old_csv(raw["videos"], COMPARE_VIDEOS_HEADER)
    answer = served_csv(client, f"{page_path}&format=csv&table=videos")
    assert answer.splitlines()[0] == COMPARE_VIDEOS_HEADER
    assert [line.split(",")[0] for line in answer.splitlines()[1:]] == ids


def check_channel(client, engine, cid: str, filled: set) -> dict:  # noqa: F811
    raw = channel_page.channel_page(engine, cid, 30)
    body = served(client, f"/api/channels/{cid}?days=30", models.ChannelPage, raw, filled)
    typed = same_json(raw, models.ChannelPage)
    for key in ("channel", "history", "launches", "launch_curves", "cohort", "launch_ages"):
        assert body[key] == typed[key], key
    history = served_csv(client, f"/channels/{cid}?days=30&format=csv")
    assert history == old_csv(raw["history"], HISTORY_HEADER)
    videos = csv_export.csv_text(typed["videos"], channel_page.VIDEO_COLUMNS)
    assert videos == old_csv(raw["videos"], CHANNEL_VIDEOS_HEADER)
    answer = served_csv(client, f"/channels/{cid}?days=30&format=csv&table=videos")
    assert answer.splitlines()[0] == CHANNEL_VIDEOS_HEADER
    assert len(answer.splitlines()) == len(raw["videos"]) + 1
    launch = served_csv(client, f"/channels/{cid}?days=30&format=csv&table=launch")
    header = ",".join(("video_id", "title", *raw["launch_ages"]))
    assert launch == old_csv(raw["launch_curves"], header)
    return raw


def check_video_csvs(client, engine, vid: str) -> None:  # noqa: F811
    raw = views.video_page(engine, vid, 30)
    observations = served_csv(client, f"/videos/{vid}?days=30&format=csv")
    assert observations == old_csv(raw["observations"], OBSERVATIONS_HEADER)
    launch = served_csv(client, f"/videos/{vid}?days=30&format=csv&table=launch")
    assert launch == old_csv(raw["launch_curve"], LAUNCH_HEADER)


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
        check_video_csvs(client, data.engine, vid)
    # the data exercised the typed parts, numbers included
    assert {
        "$.launch_curve[].views",
        "$.observations[].hours_elapsed",
        "$.observations[].views_per_hour",
        "$.milestone.eta_hours",
        "$.video.removed_at",
    } <= filled


def test_the_list_compare_and_channel_json_are_their_models(data, client):  # noqa: F811
    filled: set[str] = set()
    check_list(client, data.engine, filled)
    check_list(client, data.engine, filled, status="all", sort="views", order="asc")
    check_list(client, data.engine, filled, search="simulated channel 00", per_page=2, page=2)
    check_list(client, data.engine, filled, status="removed")
    check_compare(client, data.engine, [*data.channel_videos, data.other], "simulated", filled)
    check_compare(client, data.engine, [data.removed], None, filled)
    # a channel known only through its tracked videos: no statistics, a null channel status
    raw = check_channel(
        client, data.engine, CATALOG.profile(data.channel_videos[0]).channel_id, filled
    )
    assert raw["history"] == [] and raw["channel"]["status"] is None
    assert {
        "$.summary.last_snapshot_hour",
        "$.videos[].latest_views",
        "$.channels[].videos",
        "$.videos[].by_age[].age_hours",
        "$.videos[].by_age[].views_per_hour",
        "$.search_results[].last_observed_at",
        "$.window.by_time_start",
        "$.launch_curves[].1h",
    } <= filled


def test_the_csv_columns_are_the_models_keys():
    # every column is a scalar key of the JSON rows it is written from (a typo fails at import)
    tables = [
        (csv_export.LIST_COLUMNS, models.ListRow),
        (csv_export.OBSERVATION_COLUMNS, models.Observation),
        (csv_export.LAUNCH_COLUMNS, models.PageLaunchPoint),
        (compare.VIDEO_CSV_COLUMNS, models.CompareVideo),
        (compare.COMPARE_CSV_COLUMNS[1:], models.AgedObservation),
        (channel_page.HISTORY_COLUMNS, models.ChannelObservation),
        (channel_page.VIDEO_COLUMNS, models.ChannelVideo),
        (channel_page.LAUNCH_CURVE_COLUMNS, models.LaunchCurveRow),
    ]
    for columns, model in tables:
        assert set(columns) <= set(models.columns(model)), model
    # where the CSV is the JSON's rows, in the model's order
    assert ",".join(csv_export.LAUNCH_COLUMNS) == LAUNCH_HEADER
    assert ",".join(compare.COMPARE_CSV_COLUMNS) == COMPARE_HEADER
    assert ",".join(compare.VIDEO_CSV_COLUMNS) == COMPARE_VIDEOS_HEADER
    # the launch curve's keys are the launch ages
    from ytmetrics_dagster.warehouse.analysis import LAUNCH_AGES

    assert channel_page.LAUNCH_CURVE_COLUMNS[2:] == tuple(label for label, _ in LAUNCH_AGES)
    try:
        models.columns(models.ListRow, "video_id", "sparkline")
    except ValueError as err:
        assert "sparkline" in str(err)
    else:
        raise AssertionError("a nested key is not a CSV column")


def test_a_list_row_at_the_edge_of_its_types():
    # what the read API hands over: numpy/pandas scalars, NaN, a naive timestamp
    import numpy as np
    import pandas as pd

    row = {
        "video_id": "abcdefghijk",
        "published_at": pd.Timestamp("2026-01-02 03:04:05.9"),
        "latest_views": np.int64(12),
        "gained_24h": pd.NA,
        "views_per_hour": np.float64(2.0),
        "simulated": np.bool_(True),
        "sparkline": [{"at": datetime(2026, 1, 2, tzinfo=UTC), "views": 3.0}],
        "unknown": "dropped",
    }
    typed = models.ListRow.model_validate(row).json_dict()
    assert list(typed) == [
        *models.ListedVideo.model_fields,
        "simulated",
        "gained_24h",
        "views_per_hour",
        "sparkline",
    ]
    assert typed["published_at"] == "2026-01-02T03:04:05Z" and typed["latest_views"] == 12
    assert typed["gained_24h"] is None and typed["views_per_hour"] == 2.0
    assert typed["simulated"] is True
    assert typed["sparkline"] == [{"at": "2026-01-02T00:00:00Z", "views": 3}]
