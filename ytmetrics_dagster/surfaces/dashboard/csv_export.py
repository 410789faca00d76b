"""Every table the dashboard shows, as CSV (``?format=csv``): the same rows and values as the
page and its JSON twin, timestamps in ISO 8601 UTC, empty for null."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from starlette.responses import Response

from ytmetrics_dagster.surfaces import results

FORMATS = ("html", "csv")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return results.timestamp(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_text(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def csv_response(rows: Sequence[dict], columns: Sequence[str], filename: str, headers: dict):
    return Response(
        csv_text(rows, columns),
        media_type="text/csv; charset=utf-8",
        headers={**headers, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


LIST_COLUMNS = (
    "video_id",
    "title",
    "gained_24h",
    "views_per_hour",
    "latest_views",
    "last_observed_at",
    "channel_id",
    "channel_title",
    "published_at",
    "status",
    "added_at",
    "source",
)
OBSERVATION_COLUMNS = (
    "snapshot_hour",
    "observed_at",
    "view_count",
    "like_count",
    "comment_count",
    "views_gained",
    "hours_elapsed",
    "views_per_hour",
    "source",
)
LAUNCH_COLUMNS = (
    "age_label",
    "age_hours",
    "views",
    "interpolated",
    "channel_median_views",
    "channel_videos",
    "ratio_to_median",
)
