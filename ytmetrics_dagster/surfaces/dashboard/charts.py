"""Charts as inline SVG rendered on the server: no JavaScript, no CDN, testable as text.

Every data point is an SVG ``circle`` (or ``rect`` for a median) carrying its value in
``data-x`` / ``data-y`` and a ``title`` tooltip. Lines join only the points the caller marks
``join_prev``: a missing hour stays a gap. Tick counts follow the space available so labels
never overlap; times are UTC.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from ytmetrics_dagster.warehouse.analysis import LAUNCH_AGES

WIDTH, HEIGHT = 880, 280
TOP, RIGHT, BOTTOM = 14, 24, 52
CHAR_PX = 7.0  # width of one tick-label character at 12px
MIN_X_TICK_PX = 96  # room for "Nov 24" / "12:00" with a margin
MIN_Y_TICK_PX = 30


@dataclass(frozen=True)
class Point:
    x: float  # epoch seconds for time charts
    y: float
    tooltip: str
    join_prev: bool = True  # draw a line from the previous point of the series
    hollow: bool = False  # an average over a gap, an interpolated value...
    span_from: float | None = None  # draw a dashed span from this x (an average over it)
    note: str | None = None  # a short label written next to the point


@dataclass(frozen=True)
class Series:
    key: str  # CSS class and data-series attribute
    points: Sequence[Point]
    marker: str = "circle"  # or "square"
    dashed: bool = False


@dataclass(frozen=True)
class Level:
    """A labelled horizontal line (a milestone)."""

    y: float
    label: str


def epoch(value: datetime) -> float:
    return value.timestamp()


def utc_label(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- ticks ---------------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, max_ticks: int) -> tuple[float, float, list[float]]:
    """A 1-2-5 step covering [lo, hi] in at most ``max_ticks`` ticks: (lo', hi', ticks)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        lo, hi = 0.0, 1.0
    if hi <= lo:
        lo, hi = (lo - 1, hi + 1) if lo else (0.0, 1.0)
    max_ticks = max(2, max_ticks)
    raw = (hi - lo) / (max_ticks - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    # Recomputing the bounds may add one step; widen the step until the count fits.
    while True:
        first, last = math.floor(lo / step), math.ceil(hi / step)
        if last - first + 1 <= max_ticks:
            break
        step *= 2
    ticks = [round(i * step, 10) for i in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def compact_number(value: float, step: float | None = None) -> str:
    """1234 -> 1.2k, 3_450_000 -> 3.45M. On an axis, ``step`` sets enough decimals to tell
    neighbouring ticks apart; where that would take more than two, the full number is shown
    (1,200,200 rather than 1.2002M)."""
    if value == 0:
        return "0"
    unit, suffix = (
        next((u, x) for u, x in ((1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, "")) if abs(value) >= u)
        if abs(value) >= 1
        else (1.0, "")
    )
    if step:
        decimals = max(0, -math.floor(math.log10(step / unit) + 1e-9))
        if decimals > 2 and step >= 1:
            return f"{value:,.0f}"
    elif unit == 1.0:
        decimals = 0 if float(value).is_integer() else 1
    else:
        decimals = 2
    text = f"{value / unit:.{min(decimals, 6)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + suffix


LOG_FLOOR = 1.0  # a log axis starts at 1: smaller values (0 views) sit on its floor


def log_ticks(lo: float, hi: float, max_ticks: int) -> tuple[float, float, list[float]]:
    """Powers of ten around [lo, hi] (with 2 and 5 between when there is room)."""
    k0 = math.floor(math.log10(max(lo, LOG_FLOOR)))
    k1 = max(k0 + 1, math.ceil(math.log10(max(hi, LOG_FLOOR))))
    max_ticks = max(2, max_ticks)
    step = math.ceil((k1 - k0 + 1) / max_ticks)  # every decade, or every other, ...
    k1 = k0 + step * math.ceil((k1 - k0) / step)
    ticks = [10.0**k for k in range(k0, k1 + 1, step)]
    if step == 1 and 3 * (k1 - k0) + 1 <= max_ticks:
        ticks += [m * 10.0**k for k in range(k0, k1) for m in (2, 5)]
    return 10.0**k0, 10.0**k1, sorted(ticks)


_HOUR_STEPS = (1, 2, 3, 6, 12)
_DAY_STEPS = (1, 2, 3, 4, 7, 14)
_MONTH_STEPS = (1, 2, 3, 6, 12)


def _month_add(value: datetime, months: int) -> datetime:
    index = value.year * 12 + value.month - 1 + months
    return value.replace(year=index // 12, month=index % 12 + 1, day=1)


def time_ticks(start: float, end: float, max_ticks: int) -> list[tuple[float, tuple[str, str]]]:
    """UTC ticks on whole hours, days or months between ``start`` and ``end`` (epoch seconds),
    at most ``max_ticks``, each with a two-line label; the second line (date or year) is shown
    only where it changes, so labels stay short."""
    max_ticks = max(2, max_ticks)
    t0 = datetime.fromtimestamp(start, UTC)
    t1 = datetime.fromtimestamp(end, UTC)
    span = end - start
    ticks: list[datetime] = []
    for hours in (*_HOUR_STEPS, *(24 * d for d in _DAY_STEPS)):
        if span / (hours * 3600) + 1 <= max_ticks:
            step = timedelta(hours=hours)
            midnight = t0.replace(hour=0, minute=0, second=0, microsecond=0)
            tick = midnight + step * math.ceil((t0 - midnight) / step)
            if hours >= 24:  # whole days counted from the epoch, so ticks do not jump
                day0 = datetime(1970, 1, 1, tzinfo=UTC)
                tick = day0 + step * math.ceil((t0 - day0) / step)
            while tick <= t1:
                ticks.append(tick)
                tick += step
            break
    else:
        for months in _MONTH_STEPS:
            if span / (months * 30.4 * 86400) + 1 <= max_ticks:
                break
        tick = _month_add(t0.replace(hour=0, minute=0, second=0, microsecond=0), 0)
        if tick < t0:
            tick = _month_add(tick, 1)
        while tick.month % months != 1 % months:
            tick = _month_add(tick, 1)
        while tick <= t1:
            ticks.append(tick)
            tick = _month_add(tick, months)
    sub_day = len(ticks) >= 2 and (ticks[1] - ticks[0]) < timedelta(days=1)
    out, previous = [], None
    for tick in ticks:
        if sub_day:
            top, second = tick.strftime("%H:%M"), tick.strftime("%b %d")
        else:
            top, second = tick.strftime("%b %d"), tick.strftime("%Y")
        out.append((epoch(tick), (top, second if second != previous else "")))
        previous = second
    return out


# --- drawing -------------------------------------------------------------------------------


def _f(value: float) -> str:
    return f"{value:.1f}"


class _Canvas:
    def __init__(self, x_domain, y_domain, left, y_log=False):
        self.ty = (lambda y: math.log10(max(y, LOG_FLOOR))) if y_log else (lambda y: y)
        self.x0, self.x1 = x_domain
        self.y0, self.y1 = (self.ty(y) for y in y_domain)
        self.left = left
        self.plot_w = WIDTH - left - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM

    def sx(self, x: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (x - self.x0) / span * self.plot_w

    def sy(self, y: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return TOP + self.plot_h - (self.ty(y) - self.y0) / span * self.plot_h


def chart(
    *,
    chart_id: str,
    title: str,
    x_title: str,
    y_title: str,
    series: Sequence[Series],
    x_ticks: Callable[[float, float, int], list[tuple[float, tuple[str, str]]]],
    x_domain: tuple[float, float] | None = None,
    y_from_zero: bool = True,
    y_log: bool = False,
    levels: Sequence[Level] = (),
) -> Markup:
    """One SVG chart. ``x_ticks(start, end, max_ticks)`` gives (value, (line1, line2)).
    The y axis starts at zero, fits the data (``y_from_zero=False``) or is logarithmic."""
    points = [p for s in series for p in s.points]
    xs = [p.x for p in points] + [p.span_from for p in points if p.span_from is not None]
    ys = [p.y for p in points] + [lv.y for lv in levels]
    if x_domain is None:
        lo, hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
        pad = (hi - lo) * 0.03 or 3600.0
        x_domain = (lo - pad, hi + pad)
    y_lo = min(0.0, *ys) if y_from_zero else (min(ys) if ys else 0.0)
    y_hi = max(ys) if ys else 1.0
    if not y_from_zero and y_hi > y_lo:
        margin = (y_hi - y_lo) * 0.05
        y_lo, y_hi = max(0.0, y_lo - margin), y_hi + margin
    plot_h = HEIGHT - TOP - BOTTOM
    if y_log:
        y0, y1, y_ticks = log_ticks(min(ys, default=1.0), y_hi, plot_h // MIN_Y_TICK_PX)
        y_labels = [compact_number(t) for t in y_ticks]
    else:
        y0, y1, y_ticks = nice_ticks(y_lo, y_hi, max(2, plot_h // MIN_Y_TICK_PX))
        step = (y_ticks[1] - y_ticks[0]) if len(y_ticks) > 1 else None
        y_labels = [compact_number(t, step) for t in y_ticks]
    left = 34 + CHAR_PX * max(len(label) for label in y_labels)
    canvas = _Canvas(x_domain, (y0, y1), left, y_log)
    ticks = x_ticks(x_domain[0], x_domain[1], max(2, int(canvas.plot_w // MIN_X_TICK_PX)))
    ticks = [(x, label) for x, label in ticks if x_domain[0] <= x <= x_domain[1]]

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    bottom = TOP + plot_h
    right = left + canvas.plot_w
    out.append('<g class="grid">')
    for t in y_ticks:
        out.append(
            f'<line x1="{_f(left)}" x2="{_f(right)}" y1="{_f(canvas.sy(t))}" y2="{_f(canvas.sy(t))}"/>'
        )
    for x, _ in ticks:
        out.append(
            f'<line x1="{_f(canvas.sx(x))}" x2="{_f(canvas.sx(x))}" y1="{TOP}" y2="{bottom}"/>'
        )
    out.append("</g>")
    out.append(
        f'<rect class="frame" x="{_f(left)}" y="{TOP}" width="{_f(canvas.plot_w)}" height="{plot_h}"/>'
    )

    out.append('<g class="axis y-axis">')
    for t, label in zip(y_ticks, y_labels, strict=True):
        out.append(
            f'<text class="tick" x="{_f(left - 6)}" y="{_f(canvas.sy(t) + 4)}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    mid = TOP + plot_h / 2
    out.append(
        f'<text class="axis-title" x="14" y="{_f(mid)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_f(mid)})">{escape(y_title)}</text></g>'
    )
    out.append('<g class="axis x-axis">')
    for x, (line1, line2) in ticks:
        sx = _f(canvas.sx(x))
        second = f'<tspan x="{sx}" dy="14">{escape(line2)}</tspan>' if line2 else ""
        out.append(
            f'<text class="tick" x="{sx}" y="{bottom + 16}" text-anchor="middle">'
            f"{escape(line1)}{second}</text>"
        )
    out.append(
        f'<text class="axis-title" x="{_f(right)}" y="{HEIGHT - 4}" text-anchor="end">'
        f"{escape(x_title)}</text></g>"
    )

    for level in levels:
        if y0 <= level.y <= y1:
            y = _f(canvas.sy(level.y))
            out.append(
                f'<g class="level"><line x1="{_f(left)}" x2="{_f(right)}" y1="{y}" y2="{y}"/>'
                f'<text x="{_f(left + 6)}" y="{_f(canvas.sy(level.y) - 5)}">'
                f"{escape(level.label)}</text></g>"
            )

    for s in series:
        out.append(f'<g class="series {escape(s.key)}" data-series="{escape(s.key)}">')
        out.extend(_lines(s, canvas))
        for p in s.points:
            if p.span_from is not None:
                y = _f(canvas.sy(p.y))
                out.append(
                    f'<line class="span" x1="{_f(canvas.sx(p.span_from))}" '
                    f'x2="{_f(canvas.sx(p.x))}" y1="{y}" y2="{y}"/>'
                )
        for p in s.points:
            out.append(_marker(s, p, canvas))
            if p.note:
                out.append(
                    f'<text class="note" x="{_f(canvas.sx(p.x) - 8)}" '
                    f'y="{_f(canvas.sy(p.y) - 9)}" text-anchor="end">{escape(p.note)}</text>'
                )
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))


def _lines(s: Series, canvas: _Canvas) -> list[str]:
    """One path per run of joined points: an unjoined point starts a new run."""
    runs: list[list[Point]] = []
    for p in s.points:
        if runs and p.join_prev:
            runs[-1].append(p)
        else:
            runs.append([p])
    cls = "line dashed" if s.dashed else "line"
    out = []
    for run in runs:
        if len(run) < 2:
            continue
        d = " ".join(
            f"{'M' if i == 0 else 'L'}{_f(canvas.sx(p.x))},{_f(canvas.sy(p.y))}"
            for i, p in enumerate(run)
        )
        out.append(f'<path class="{cls}" d="{d}"/>')
    return out


def _marker(s: Series, p: Point, canvas: _Canvas) -> str:
    cx, cy = canvas.sx(p.x), canvas.sy(p.y)
    cls = "pt hollow" if p.hollow else "pt"
    data = f'data-x="{p.x:g}" data-y="{p.y!r}"'
    tip = f"<title>{escape(p.tooltip)}</title>"
    if s.marker == "square":
        return (
            f'<rect class="{cls}" x="{_f(cx - 4)}" y="{_f(cy - 4)}" width="8" height="8" '
            f"{data}>{tip}</rect>"
        )
    radius = 3.5 if len(s.points) <= 200 else 2.2
    return f'<circle class="{cls}" cx="{_f(cx)}" cy="{_f(cy)}" r="{radius}" {data}>{tip}</circle>'


# --- the video page's charts ---------------------------------------------------------------

PROJECTION_HORIZON = timedelta(days=7)


def _n(value: float | None, decimals: int = 0) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}"


def _time_domain(observations: Sequence[dict]) -> tuple[float, float]:
    starts = [o["observed_at"] for o in observations]
    starts += [
        o["prev_observed_at"]
        for o in observations
        if o.get("views_per_hour") is not None and o.get("prev_observed_at") is not None
    ]
    lo, hi = epoch(min(starts)), epoch(max(o["observed_at"] for o in observations))
    pad = (hi - lo) * 0.03 or 3600.0
    return lo - pad, hi + pad


def _joined(previous: datetime | None, current: datetime, gap_minutes: int) -> bool:
    return previous is not None and current - previous <= timedelta(minutes=gap_minutes)


def _view_points(observations: Sequence[dict], gap_minutes: int) -> list[Point]:
    """A point per real observation, joined to the previous one when within ``gap_minutes``."""
    points, previous = [], None
    for o in observations:
        at = o["observed_at"]
        points.append(
            Point(
                epoch(at),
                o["view_count"],
                f"{utc_label(at)}: {_n(o['view_count'])} views",
                join_prev=_joined(previous, at, gap_minutes),
            )
        )
        previous = at
    return points


def views_chart(observations: Sequence[dict], gap_minutes: int) -> Markup:
    """Views at each real observation; consecutive observations within ``gap_minutes`` are
    joined, a longer gap is left open."""
    points = _view_points(observations, gap_minutes)
    return chart(
        chart_id="chart-views",
        title="Views at each observation (UTC)",
        x_title="observed at (UTC)",
        y_title="views",
        series=[Series("views", points)],
        x_ticks=time_ticks,
        x_domain=_time_domain(observations),
        y_from_zero=False,
    )


def views_per_hour_chart(observations: Sequence[dict], gap_minutes: int) -> Markup:
    """Views/hour since the previous real observation, plotted at the observation. A value
    that averages over more than ``gap_minutes`` is hollow, with a dashed span over the
    hours it averages, and is not joined to its neighbours."""
    points, previous = [], None
    for o in observations:
        rate, at, since = o.get("views_per_hour"), o["observed_at"], o.get("prev_observed_at")
        if rate is None or since is None:
            previous = None
            continue
        spans_gap = not _joined(since, at, gap_minutes)
        tooltip = (
            f"{utc_label(at)}: {_n(rate, 1)} views/hour over {_n(o['hours_elapsed'], 2)} h "
            f"since {utc_label(since)}"
        )
        points.append(
            Point(
                epoch(at),
                rate,
                tooltip,
                join_prev=not spans_gap and previous == since,
                hollow=spans_gap,
                span_from=epoch(since) if spans_gap else None,
            )
        )
        previous = None if spans_gap else at
    return chart(
        chart_id="chart-rate",
        title="Views per hour since the previous observation (UTC)",
        x_title="observed at (UTC)",
        y_title="views / hour",
        series=[Series("rate", points)],
        x_ticks=time_ticks,
        x_domain=_time_domain(observations),
    )


def _age_ticks(start: float, end: float, max_ticks: int):
    return [(math.log10(hours), (label, "")) for label, hours in LAUNCH_AGES]


def launch_chart(curve: Sequence[dict]) -> Markup:
    """The video's views at each launch age next to the channel median (log-scaled age)."""
    own, median = [], []
    own_prev = median_prev = False
    for row in curve:
        x = math.log10(row["age_hours"])
        if row["views"] is not None:
            how = "interpolated between observations" if row["interpolated"] else "observed"
            own.append(
                Point(
                    x,
                    row["views"],
                    f"{row['age_label']}: {_n(row['views'])} views ({how})",
                    join_prev=own_prev,
                    hollow=bool(row["interpolated"]),
                )
            )
        own_prev = row["views"] is not None
        if row["channel_median_views"] is not None:
            median.append(
                Point(
                    x,
                    row["channel_median_views"],
                    f"{row['age_label']}: channel median {_n(row['channel_median_views'])} "
                    f"views over {row['channel_videos']} videos",
                    join_prev=median_prev,
                )
            )
        median_prev = row["channel_median_views"] is not None
    pad = 0.06
    return chart(
        chart_id="chart-launch",
        title="Launch curve: views by age since publishing, against the channel median",
        x_title="age since publishing (log scale)",
        y_title="views (log scale)",
        series=[Series("median", median, marker="square", dashed=True), Series("video", own)],
        x_ticks=_age_ticks,
        x_domain=(-pad * 3, math.log10(720) + pad * 3),
        y_log=True,
    )


def milestone_chart(observations: Sequence[dict], milestone: dict, gap_minutes: int) -> Markup:
    """The observations of the trend window and the straight-line projection to the next
    milestone (drawn to at most ``PROJECTION_HORIZON`` after the latest observation)."""
    start, end = milestone["window_start"], milestone["observed_at"]
    window = [o for o in observations if start <= o["observed_at"] <= end]
    points = _view_points(window, gap_minutes)
    rate, views = milestone["views_per_hour"], milestone["views"]
    eta, target = milestone.get("eta_at"), milestone["next_milestone"]
    horizon = end + PROJECTION_HORIZON
    levels = []
    if eta is not None and eta <= horizon:
        stop_at, stop_views = eta, float(target)
        tooltip = f"projected: {_n(target)} views at {utc_label(eta)}"
        note = f"{_n(target)} at {eta:%b %d %H:%M} UTC"
        levels = [Level(float(target), f"milestone {_n(target)} views")]
    else:
        stop_at = horizon
        stop_views = views + rate * PROJECTION_HORIZON.total_seconds() / 3600 if rate else views
        tooltip = f"projected at {utc_label(horizon)}: {_n(stop_views)} views"
        note = f"{_n(stop_views)} by {horizon:%b %d}"
        if eta:
            tooltip += f"; {_n(target)} views at {utc_label(eta)}, beyond this chart"
            note += f"; {_n(target)} on {eta:%b %d} →"
    projection = [
        Point(epoch(end), views, f"{utc_label(end)}: {_n(views)} views (latest)"),
        Point(epoch(stop_at), stop_views, tooltip, hollow=True, note=note),
    ]
    lo, hi = epoch(start), epoch(stop_at)
    pad = (hi - lo) * 0.03 or 3600.0
    return chart(
        chart_id="chart-milestone",
        title="Next milestone: trend window and linear projection (UTC)",
        x_title="time (UTC)",
        y_title="views",
        series=[Series("projection", projection, dashed=True), Series("views", points)],
        x_ticks=time_ticks,
        x_domain=(lo - pad, hi + pad),
        y_from_zero=False,
        levels=levels,
    )
