"""Every table the dashboard shows, as CSV (``?format=csv``): the rows of the page's JSON twin
(its result model's JSON: timestamps in ISO 8601 UTC), empty for null. The columns are the
models' keys: in the model's order where the CSV is the JSON's rows, in the page's order,
checked against the model, where the CSV leads with other columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from starlette.responses import Response

from ytmetrics_dagster.surfaces import results

FORMATS = ("html", "csv")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_text(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """``rows`` are JSON rows (a result model's ``json_dict``), so every value is already the
    JSON's: a timestamp is its ISO text."""
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


# the list: growth first, as the page shows it
LIST_COLUMNS = results.columns(
    results.ListRow,
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
# the video page's observations: the counts, then their growth
OBSERVATION_COLUMNS = results.columns(
    results.Observation,
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
# the video page's launch curve, without what only its chart needs
LAUNCH_COLUMNS = results.columns(
    results.PageLaunchPoint, exclude=("reached", "before_observed_at", "after_observed_at")
)
