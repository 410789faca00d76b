"""The result models: one pydantic model per result, the one definition of its JSON shape on
every surface (`ytmetrics ... --format json`, `quota --json`, the MCP tools' output schemas, the
HTTP API's response and error models, the dashboard's JSON, CSV and error bodies).

Every value is converted here, whatever the read API handed over (numpy and Decimal numbers,
pandas or Python timestamps, ISO strings, NaN/NaT/NA, DataFrames for lists of rows):

- counts are JSON integers, rates and ratios JSON numbers (floats), NULL is ``null``;
- timestamps are ISO 8601 in UTC with a ``Z``, to the second: ``2026-11-20T05:00:00Z``;
- objects carry exactly the keys of their model, in its order: every key is always present
  (a key the data lacks is null, a list or named entries it lacks are empty), keys the model
  does not name are dropped.

``reference()`` renders the models as the docs show them. No pandas at import time: values are
recognised by their type's name, pandas is imported by the converters that need it.
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


# -- the conversions (the one place) ---------------------------------------------------------


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__.split('.')[0]}.{kind.__name__}"


def missing(value: Any) -> bool:
    """None, NaN (float, Decimal, numpy), infinities, pandas NA and NaT."""
    if value is None:
        return True
    if isinstance(value, str | bool):
        return False
    if isinstance(value, float | Decimal):
        return not math.isfinite(float(value))
    name = _type_name(value)
    if name in ("pandas.NAType", "pandas.NaTType"):
        return True
    if name.startswith("numpy.") and getattr(value, "ndim", None) == 0:  # a numpy scalar
        kind = value.dtype.kind
        if kind == "f":
            return not math.isfinite(float(value))
        if kind in "mM":
            import numpy as np

            return bool(np.isnat(value))
    return False


def timestamp(value: Any) -> str | None:
    """ISO 8601 UTC with ``Z``, to the second; naive values are taken as UTC."""
    if missing(value):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    elif _type_name(value) == "numpy.datetime64":
        import pandas as pd

        value = pd.Timestamp(value).to_pydatetime()
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {type(value).__name__}")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _integer(value: Any) -> int | None:
    if missing(value):
        return None
    if isinstance(value, float | Decimal) and value != int(value):
        return round(value)
    return int(value)


def _number(value: Any) -> float | None:
    return None if missing(value) else float(value)


def _boolean(value: Any) -> bool | None:
    return None if missing(value) else bool(value)


def _string(value: Any) -> str | None:
    return None if missing(value) else str(value)


def plain(value: Any) -> Any:
    """A pandas/numpy/Decimal scalar as a plain Python value (NaN, NA, NaT -> None); datetimes
    stay datetimes (the dashboard's pages format them; its JSON writes ``timestamp``)."""
    if missing(value):
        return None
    if isinstance(value, datetime | str | bool):
        if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
            return value.to_pydatetime()
        return value
    if isinstance(value, Decimal):
        return float(value)
    if _type_name(value) == "numpy.datetime64":
        import pandas as pd

        return pd.Timestamp(value).to_pydatetime()
    if _type_name(value).startswith("numpy."):
        return value.item()
    return value


def records(frame: Any) -> list[dict]:
    """A DataFrame's rows as dicts of plain values."""
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def jsonable(value: Any) -> Any:
    """Plain values, recursively, with datetimes as ``timestamp`` writes them."""
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    value = plain(value)
    if isinstance(value, datetime):
        return timestamp(value)
    return value


def _rows(value: Any) -> Any:
    """A list field's input: a DataFrame's rows, any iterable, nothing (an empty list)."""
    if value is None:
        return []
    if _type_name(value) == "pandas.DataFrame":
        return value.to_dict(orient="records")
    if isinstance(value, str | bytes | Mapping):
        return value  # pydantic rejects it as a list
    if missing(value):
        return []
    return list(value)


class _Kind:
    """The documented kind of a scalar field (``integer``, ``number``, …)."""

    def __init__(self, name: str) -> None:
        self.name = name


Count = Annotated[int | None, BeforeValidator(_integer), _Kind("integer")]
Rate = Annotated[float | None, BeforeValidator(_number), _Kind("number")]
Text = Annotated[str | None, BeforeValidator(_string), _Kind("string")]
Flag = Annotated[bool | None, BeforeValidator(_boolean), _Kind("boolean")]
Timestamp = Annotated[
    Annotated[str, Field(pattern=TIMESTAMP_PATTERN)] | None,
    BeforeValidator(timestamp),
    _Kind("timestamp"),
]


# never null (the error body: its schema is the OpenAPI document's ``Error``)
Message = Annotated[str, _Kind("string")]
Code = Annotated[int, _Kind("integer")]


def Rows(item: Any) -> Any:  # reads as a type
    return Annotated[list[item], BeforeValidator(_rows)]


def Named(item: Any) -> Any:  # reads as a type
    """Named entries (buckets, tiers, methods): an object of ``item`` values; nothing is empty."""
    return Annotated[dict[str, item], BeforeValidator(lambda value: {} if value is None else value)]


class Result(BaseModel):
    """A result object: exactly its keys, in order, each always present."""

    # built on first use: a CLI command pays only for the models it prints
    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _conform(cls, value: Any) -> Any:
        if value is None or isinstance(value, BaseModel):
            return value
        if not isinstance(value, Mapping):
            value = vars(value)
        out = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            out[key] = value.get(key, value.get(name))
        return out

    def json_dict(self) -> dict:
        """The JSON value (what every surface sends)."""
        return self.model_dump(mode="json")


def dumps(result: Result | dict) -> str:
    """Strict JSON (no NaN), indented, non-ASCII kept readable: the CLI's ``--format json``."""
    payload = result.json_dict() if isinstance(result, Result) else result
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False)


# -- the models (README order: the parts first, then the results that use them) -------------


class Video(Result):
    video_id: Text
    title: Text
    channel_id: Text
    channel_title: Text
    published_at: Timestamp
    status: Text
    added_at: Timestamp


class VideoRow(Video):
    last_updated: Timestamp


class SeriesRow(Result):
    period: Timestamp
    observations: Count
    views: Count
    likes: Count
    comments: Count
    views_gained: Count
    likes_gained: Count
    comments_gained: Count


class GrowthOf(Result):
    absolute: Count
    percent: Rate
    from_: Count = Field(alias="from")
    to: Count
    from_observed_at: Timestamp
    to_observed_at: Timestamp
    baseline: Text


class Growth(Result):
    views: GrowthOf | None
    likes: GrowthOf | None
    comments: GrowthOf | None


class Period(Result):
    days: Count
    interval: Text
    start: Timestamp
    end: Timestamp
    growth_definition: Text


class Latest(Result):
    observed_at: Timestamp
    view_count: Count
    like_count: Count
    comment_count: Count
    source: Text


class Velocity(Result):
    views_per_hour_recent: Rate
    window_start: Timestamp
    window_end: Timestamp


class LaunchPoint(Result):
    age_label: Text
    age_hours: Count
    # interpolated between two observations, so fractional
    views: Rate
    likes: Rate
    comments: Rate
    interpolated: Flag
    before_observed_at: Timestamp
    after_observed_at: Timestamp


class MedianPoint(Result):
    age: Text
    views: Rate
    channel_median_views: Rate
    ratio_to_median: Rate
    channel_videos: Count


class Milestone(Result):
    computed_at: Timestamp
    views: Count
    observed_at: Timestamp
    window_start: Timestamp
    window_hours: Rate
    window_hours_configured: Count
    views_per_hour: Rate
    next_milestone: Count
    eta_hours: Rate
    eta_at: Timestamp
    method: Text
    eta_horizon_hours: Count
    eta_beyond_horizon: Flag


class TopRow(Result):
    video_id: Text
    title: Text
    channel_title: Text
    views_gained: Count
    views_per_hour: Rate
    views: Count
    views_observed_at: Timestamp
    covered_hours: Rate
    prorated: Flag


class ChannelRow(Result):
    channel_id: Text
    handle: Text
    title: Text
    status: Text
    tracked_at: Timestamp
    last_polled_at: Timestamp
    uploads_registered: Count
    active_videos: Count


class RequestRow(Result):
    request_id: Count
    requested_input: Text
    video_id: Text
    status: Text
    reason: Text
    requested_by: Text
    requested_at: Timestamp
    resolved_at: Timestamp


class Registration(Result):
    input: Text
    video_id: Text
    outcome: Text
    request_id: Count
    status: Text
    reason: Text


class VideoList(Result):
    total: Count
    offset: Count
    limit: Count
    videos: Rows(VideoRow)


class Metrics(Result):
    video: Video | None
    period: Period | None
    growth: Growth | None
    series: Rows(SeriesRow)

    @classmethod
    def from_read(cls, result: Any, growth_definition: str) -> Metrics:
        """A ``metric_series.video_metrics`` result."""
        period = {
            "days": result.days,
            "interval": result.interval,
            "start": result.start,
            "end": result.end,
            "growth_definition": growth_definition,
        }
        return cls.model_validate(
            {
                "video": result.video,
                "period": period,
                "growth": result.growth,
                "series": result.series,
            }
        )


class Analysis(Result):
    video: Video | None
    period: Period | None
    data_sources: Rows(Text)
    observations: Count
    series: Rows(SeriesRow)
    growth: Growth | None
    latest: Latest | None
    velocity: Velocity | None
    engagement_rate: Rate
    launch_curve: Rows(LaunchPoint)
    vs_channel_median: Rows(MedianPoint)
    milestone: Milestone | None

    @classmethod
    def from_read(cls, result: dict) -> Analysis:
        """The read API's analysis (the velocity window as two timestamps)."""
        milestone = result.get("milestone") or {}
        start = milestone.get("window_start")
        velocity = {
            "views_per_hour_recent": (result.get("velocity") or {}).get("views_per_hour_recent"),
            "window_start": start,
            "window_end": milestone.get("observed_at") if start else None,
        }
        return cls.model_validate({**result, "velocity": velocity})


class Top(Result):
    hours: Count
    limit: Count
    channel_id: Text
    method: Text
    videos: Rows(TopRow)


class ChannelList(Result):
    total: Count
    channels: Rows(ChannelRow)


class RequestList(Result):
    total: Count
    offset: Count
    limit: Count
    requests: Rows(RequestRow)


class Registrations(Result):
    registrations: Rows(Registration)


class RemovalDeleted(Result):
    snapshots: Count
    growth_hourly: Count
    growth_daily: Count


class Removal(Result):
    video_id: Text
    already_removed: Flag
    removed_at: Timestamp
    deleted: RemovalDeleted | None


class ChannelChange(Result):
    channel_id: Text
    handle: Text
    title: Text
    status: Text
    queued: Count


class Collection(Result):
    request_id: Count
    video_id: Text
    status: Text
    reason: Text
    requested_by: Text
    requested_at: Timestamp
    snapshot_hour: Timestamp
    resolved_at: Timestamp


class CollectionList(Result):
    total: Count
    offset: Count
    limit: Count
    collections: Rows(Collection)


class AlertRow(Result):
    alert_id: Count
    kind: Text
    message: Text
    created_at: Timestamp
    delivery_state: Text
    delivery_error: Text
    acknowledged_at: Timestamp
    acknowledged_by: Text


class AlertList(Result):
    total: Count
    offset: Count
    limit: Count
    alerts: Rows(AlertRow)


class TokenRow(Result):
    """`ytmetrics tokens` (CLI only; the secret is never listed)."""

    token_id: Count
    name: Text
    read_only: Flag
    created_at: Timestamp
    last_used_at: Timestamp
    revoked_at: Timestamp


class TokenList(Result):
    tokens: Rows(TokenRow)


# -- the error body (the HTTP API and the dashboard) -----------------------------------------


class Error(Result):
    """Every error: what went wrong, in the words the CLI uses; ``status`` is the HTTP status."""

    error: Message
    status: Code


# -- `ytmetrics quota --json` (services.quota_status; its timestamps as it writes them) ------


class QuotaBucket(Result):
    used: Count
    held: Count
    limit: Count
    left: Count


class QuotaLedger(Result):
    buckets: Named(QuotaBucket)
    # ``bucket:method`` (``default:videos``) -> units spent today
    units_by_method: Named(Count)


class QuotaPacing(Result):
    hour_allowance_units: Count
    hour_allowance_videos: Count
    share_plus_unused_units: Count
    even_spread_units: Count
    reserve_units: Count


class QuotaDeferred(Result):
    total: Count
    by_tier: Named(Count)


class QuotaComponents(Result):
    hourly: Count
    tiered: Count
    refresh: Count
    discovery: Count
    registrations: Count


class QuotaForecast(Result):
    units_per_day_by_component: QuotaComponents | None
    units_per_day_needed: Count
    units_per_day_budget: Count
    shortfall_units: Count
    batch_get_stats_needed: Count
    batch_get_stats_budget: Count
    budget_runs_out_without_pacing_utc: Text
    more_hourly_videos_fit: Count


class Quota(Result):
    """Today's quota day (Pacific): the ledger, the hour's pacing and the day's forecast. Its
    times are ISO 8601 with ``+00:00`` (``2026-11-20T08:00:00+00:00``), as it always wrote them."""

    quota_day: Text
    day_hours: Count
    hour_index: Count
    day_start_utc: Text
    resets_at_utc: Text
    ledger: QuotaLedger | None
    # bucket -> its pacing of the hour in progress
    pacing: Named(QuotaPacing)
    deferred_today: QuotaDeferred | None
    forecast: QuotaForecast | None


# -- `ytmetrics status --format json` (runtime.status) --------------------------------------


class ProgramStatus(Result):
    name: Text
    state: Text
    pid: Count
    uptime_seconds: Count
    restarts: Count
    description: Text


class Status(Result):
    home: Text
    programs: Rows(ProgramStatus)


# -- the dashboard's video page (its JSON twin, /api/videos/{video}) -------------------------


class PageVideo(Result):
    """Everything ``videos`` knows about the video (the page shows more than ``Video``)."""

    video_id: Text
    title: Text
    channel_id: Text
    channel_title: Text
    published_at: Timestamp
    duration_seconds: Count
    status: Text
    source: Text
    added_at: Timestamp
    last_updated: Timestamp
    unavailable_since: Timestamp
    removed_at: Timestamp


class PageWindow(Result):
    days: Count
    ends_at_latest_observation: Flag
    first_observed_at: Timestamp
    last_observed_at: Timestamp
    gap_minutes: Count


class Observation(Result):
    """One real observation with its hourly-growth row (what the page's charts draw)."""

    snapshot_hour: Timestamp
    observed_at: Timestamp
    view_count: Count
    like_count: Count
    comment_count: Count
    source: Text
    growth_computed: Flag
    prev_observed_at: Timestamp
    hours_elapsed: Rate
    views_gained: Count
    views_per_hour: Rate


class PageLaunchPoint(Result):
    age_label: Text
    age_hours: Count
    reached: Flag
    views: Rate
    interpolated: Flag
    before_observed_at: Timestamp
    after_observed_at: Timestamp
    channel_median_views: Rate
    channel_videos: Count
    ratio_to_median: Rate


class ChannelCohort(Result):
    videos: Count
    ages: Rows(Text)
    drawn: Flag
    min_videos: Count
    note: Text
    definition: Text


class PageMilestone(Result):
    computed_at: Timestamp
    views: Count
    observed_at: Timestamp
    window_start: Timestamp
    window_hours: Rate
    views_per_hour: Rate
    next_milestone: Count
    eta_hours: Rate
    eta_at: Timestamp
    method: Text
    window_hours_configured: Count
    eta_horizon_hours: Count
    eta_beyond_horizon: Flag
    eta_text: Text


class VideoPage(Result):
    """The dashboard's video page as JSON: exactly the numbers its charts draw."""

    video: PageVideo | None
    simulated: Flag
    data_sources: Rows(Text)
    window: PageWindow | None
    latest: Observation | None
    observations: Rows(Observation)
    launch_curve: Rows(PageLaunchPoint)
    channel_cohort: ChannelCohort | None
    milestone: PageMilestone | None
    milestone_method: Text


# -- the dashboard's list, comparison and channel page (their JSON twins) -------------------


class ListedVideo(Result):
    """A row of the dashboard's video search: the video and its latest observation."""

    video_id: Text
    title: Text
    channel_id: Text
    channel_title: Text
    published_at: Timestamp
    status: Text
    source: Text
    added_at: Timestamp
    last_observed_at: Timestamp
    latest_views: Count
    latest_source: Text


class SparkPoint(Result):
    at: Timestamp
    views: Count


class ListRow(ListedVideo):
    """A row of the list: the video, its growth now and its sparkline."""

    simulated: Flag
    gained_24h: Count
    views_per_hour: Rate
    sparkline: Rows(SparkPoint)


class ListPageQuery(Result):
    q: Text
    status: Text
    channel: Text
    sort: Text
    order: Text
    page: Count
    per_page: Count


class ListSummary(Result):
    """The deployment at a glance (the list's header)."""

    as_of: Timestamp
    active_videos: Count
    tracked_videos: Count
    observations_24h: Count
    missed_hours_24h: Count
    missed_hours_total: Count
    last_snapshot_hour: Timestamp
    quota_day_pacific: Text
    quota_used_today: Count
    quota_budget: Count


class ListChannel(Result):
    channel_id: Text
    channel_title: Text
    videos: Count


class ListPage(Result):
    """The dashboard's list as JSON (``/api/videos``)."""

    query: ListPageQuery | None
    summary: ListSummary | None
    growth_definition: Text
    total: Count
    pages: Count
    videos: Rows(ListRow)
    simulated: Flag
    channels: Rows(ListChannel)


class AgedObservation(Result):
    """One observation with the video's age then (the comparison's and launches' charts)."""

    observed_at: Timestamp
    # hours since publishing, fractional
    age_hours: Rate
    views: Count
    views_per_hour: Rate
    hours_elapsed: Rate


class ComparePageQuery(Result):
    videos: Rows(Text)
    q: Text
    age_days: Count
    days: Count
    max_videos: Count


class CompareWindow(Result):
    by_time_start: Timestamp
    by_time_end: Timestamp
    age_hours: Count


class CompareVideo(Result):
    video_id: Text
    title: Text
    channel_id: Text
    channel_title: Text
    published_at: Timestamp
    status: Text
    series_class: Text
    gained_24h: Count
    views_per_hour: Rate
    by_age: Rows(AgedObservation)
    by_time: Rows(AgedObservation)


class ComparePage(Result):
    """The comparison page as JSON (``/api/compare``)."""

    query: ComparePageQuery | None
    window: CompareWindow | None
    gap_minutes: Count
    videos: Rows(CompareVideo)
    search_results: Rows(ListedVideo)
    simulated: Flag


class PageChannel(Result):
    """The channel as the warehouse knows it (tracked, or only the channel of tracked videos)."""

    channel_id: Text
    title: Text
    handle: Text
    status: Text
    tracked_at: Timestamp
    source: Text
    videos: Count
    active_videos: Count


class ChannelWindow(Result):
    days: Count
    ends_at_latest_observation: Flag


class ChannelObservation(Result):
    """One hourly observation of the channel's statistics, with its growth."""

    snapshot_hour: Timestamp
    observed_at: Timestamp
    subscriber_count: Count
    view_count: Count
    video_count: Count
    prev_observed_at: Timestamp
    hours_elapsed: Rate
    subscribers_gained: Count
    views_gained: Count
    videos_gained: Count
    views_per_hour: Rate


class ChannelVideo(ListedVideo):
    gained_24h: Count
    views_per_hour: Rate


class Launch(Result):
    video_id: Text
    title: Text
    published_at: Timestamp
    series_class: Text
    by_age: Rows(AgedObservation)


class LaunchCurveRow(Result):
    """A video's launch curve: its views at each launch age (``analysis.LAUNCH_AGES``)."""

    video_id: Text
    views_1h: Rate = Field(alias="1h")
    views_6h: Rate = Field(alias="6h")
    views_24h: Rate = Field(alias="24h")
    views_48h: Rate = Field(alias="48h")
    views_7d: Rate = Field(alias="7d")
    views_30d: Rate = Field(alias="30d")
    title: Text


class ChannelPageCohort(Result):
    videos: Count
    ages: Rows(Text)
    drawn: Flag
    # the median at every launch age (null where the cohort has none)
    median_views: Rows(Rate)
    note: Text
    definition: Text


class ChannelPage(Result):
    """The channel page as JSON (``/api/channels/{channel}``)."""

    channel: PageChannel | None
    window: ChannelWindow | None
    latest: ChannelObservation | None
    history: Rows(ChannelObservation)
    videos_total: Count
    videos: Rows(ChannelVideo)
    launches: Rows(Launch)
    launch_age_days: Count
    launch_curves: Rows(LaunchCurveRow)
    cohort: ChannelPageCohort | None
    launch_ages: Rows(Text)
    gap_minutes: Count
    simulated: Flag


# What the docs show, in their order: the parts first, then the results that use them (a part
# is named where it appears).
DOCUMENTED: tuple[type[Result], ...] = (
    Video,
    VideoRow,
    SeriesRow,
    GrowthOf,
    Growth,
    Period,
    Latest,
    Velocity,
    LaunchPoint,
    MedianPoint,
    Milestone,
    TopRow,
    ChannelRow,
    RequestRow,
    Registration,
    VideoList,
    Metrics,
    Analysis,
    Top,
    ChannelList,
    RequestList,
    Registrations,
    RemovalDeleted,
    Removal,
    ChannelChange,
    Collection,
    CollectionList,
    AlertRow,
    AlertList,
    Error,
    TokenRow,
    TokenList,
    QuotaBucket,
    QuotaLedger,
    QuotaPacing,
    QuotaDeferred,
    QuotaComponents,
    QuotaForecast,
    Quota,
    ProgramStatus,
    Status,
    PageVideo,
    PageWindow,
    Observation,
    PageLaunchPoint,
    ChannelCohort,
    PageMilestone,
    VideoPage,
    ListedVideo,
    SparkPoint,
    ListRow,
    ListPageQuery,
    ListSummary,
    ListChannel,
    ListPage,
    AgedObservation,
    ComparePageQuery,
    CompareWindow,
    CompareVideo,
    ComparePage,
    PageChannel,
    ChannelWindow,
    ChannelObservation,
    ChannelVideo,
    Launch,
    LaunchCurveRow,
    ChannelPageCohort,
    ChannelPage,
)

# The reference's sections: a comment line before the first model of each (the docs' block).
SECTIONS: dict[type[Result], str] = {
    Error: "# every error of the HTTP API and of the dashboard's JSON (status: the HTTP status)",
    TokenRow: "# the CLI's own: tokens list --format json, quota --json, status --format json",
    PageVideo: (
        "# the dashboard's JSON: /api/videos/{video} VIDEO_PAGE, /api/videos LIST_PAGE,\n"
        "# /api/compare COMPARE_PAGE, /api/channels/{UC…} CHANNEL_PAGE"
    ),
}


def doc_name(model: type[BaseModel]) -> str:
    """``VideoRow`` -> ``VIDEO_ROW``: the name the docs give a model."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).upper()


# -- tables (the CLI's table and CSV formats) ------------------------------------------------


def kinds(model: type[BaseModel]) -> dict[str, str]:
    """Each scalar key's kind (``integer``, ``timestamp``, …); nested values are ``object`` or
    ``array``."""
    out = {}
    for name, field in model.model_fields.items():
        kind = next((m.name for m in field.metadata if isinstance(m, _Kind)), None)
        if kind is None:
            kind = "array" if get_origin(field.annotation) is list else "object"
        out[field.alias or name] = kind
    return out


def table(rows: list[dict], model: type[BaseModel]) -> Any:
    """JSON rows as a frame with the model's columns (for the table and CSV formats), with the
    JSON's values: integers stay integers (nullable), a null stays empty."""
    import pandas as pd

    columns = kinds(model)
    frame = pd.DataFrame(rows, columns=list(columns))
    for column, kind in columns.items():
        if kind == "integer":
            frame[column] = frame[column].astype("Int64")
    return frame


def columns(model: type[BaseModel], *names: str, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A table's columns (the dashboard's CSV): the model's scalar keys in its order, without
    ``exclude``; or ``names``, in their order, each checked to be one of them."""
    scalars = [key for key, kind in kinds(model).items() if kind not in ("object", "array")]
    if not names:
        return tuple(key for key in scalars if key not in exclude)
    unknown = [name for name in names if name not in scalars]
    if unknown:
        raise ValueError(f"{model.__name__} has no scalar key {', '.join(unknown)}")
    return names


# -- the reference (the docs' block) ---------------------------------------------------------


def _field_text(field: Any) -> str:
    kind = next((m.name for m in field.metadata if isinstance(m, _Kind)), None)
    if kind is not None:
        return kind
    return _type_text(field.annotation)


def _type_text(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is dict:  # named entries (buckets, tiers, methods)
        key, value = get_args(annotation)
        if get_origin(value) is Annotated:
            kind = next((m.name for m in value.__metadata__ if isinstance(m, _Kind)), None)
            return "{" + _type_text(key) + f": {kind}, …}}"
        return "{" + _type_text(key) + ": " + _type_text(value) + ", …}"
    if annotation is str:
        return "string"
    if origin is list:
        (item,) = get_args(annotation)
        if get_origin(item) is Annotated:
            kind = next((m.name for m in item.__metadata__ if isinstance(m, _Kind)), None)
            return f"[{kind}, …]"
        return "[" + _type_text(item) + ", …]"
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in get_args(annotation) if a is not type(None)]
        return _type_text(inner)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in DOCUMENTED:
            return doc_name(annotation)
        return _inline(annotation)
    raise TypeError(f"no documented kind for {annotation!r}")


def _inline(model: type[BaseModel]) -> str:
    return (
        "{"
        + ", ".join(
            f'"{field.alias or name}": {_field_text(field)}'
            for name, field in model.model_fields.items()
        )
        + "}"
    )


def describe(model: type[BaseModel], width: int = 96) -> str:
    """``NAME = {...}``: the model as a JSON skeleton with kinds for values and documented parts
    by name, wrapped to ``width``."""
    text = f"{doc_name(model)} = {_inline(model)}"
    pieces = re.split(r", (?=\")", text)
    lines, line = [], pieces[0]
    for piece in pieces[1:]:
        if len(line) + len(", ") + len(piece) >= width:  # room for the comma
            lines.append(line + ",")
            line = "    " + piece
        else:
            line += ", " + piece
    return "\n".join([*lines, line])


def reference() -> str:
    """Every documented model, as the docs show them."""
    lines = []
    for model in DOCUMENTED:
        if model in SECTIONS:
            lines.append(SECTIONS[model])
        lines.append(describe(model))
    return "\n".join(lines)
