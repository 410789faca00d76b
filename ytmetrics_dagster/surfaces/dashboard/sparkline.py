"""A sparkline: one video's observed views over the last days, as a tiny inline SVG (no axes;
the tooltip says what it covers). Observations more than ``gap_minutes`` apart are not joined,
as on the full charts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 120, 28, 2


def sparkline(points: Sequence[tuple[datetime, int]], days: int, gap_minutes: int) -> Markup:
    if not points:
        return Markup('<span class="muted spark-none">no observations</span>')
    times = [at.timestamp() for at, _ in points]
    views = [v for _, v in points]
    t0 = times[-1] - days * 86400
    v0, v1 = min(views), max(views)

    def sx(t: float) -> float:
        return PAD + (t - t0) / (days * 86400) * (WIDTH - 2 * PAD)

    def sy(v: float) -> float:
        return HEIGHT - PAD - ((v - v0) / (v1 - v0) if v1 > v0 else 0.5) * (HEIGHT - 2 * PAD)

    runs: list[list[str]] = []
    previous = None
    for t, v in zip(times, views, strict=True):
        xy = f"{sx(t):.1f},{sy(v):.1f}"
        if previous is not None and t - previous <= gap_minutes * 60 and runs:
            runs[-1].append(xy)
        else:
            runs.append([xy])
        previous = t
    paths = "".join(
        f'<polyline points="{" ".join(run)}"/>'
        if len(run) > 1
        else f'<circle cx="{run[0].split(",")[0]}" cy="{run[0].split(",")[1]}" r="1.5"/>'
        for run in runs
    )
    gained = views[-1] - views[0]
    title = (
        f"views over the last {days} days: {len(points)} observations, "
        f"{views[0]:,} → {views[-1]:,} (+{gained:,})"
    )
    return Markup(
        f'<svg class="spark" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" data-points="{len(points)}">'
        f"<title>{escape(title)}</title>{paths}</svg>"
    )
