"""Channel medians of launch curves that compare like with like.

A median drawn across ages must be over one set of videos: if each age's median were over
whichever videos happen to have reached it, the line would join different populations (a
channel's old, slow videos at 30 d and its new hits at 1 h) and could fall with age. So the
median at every age drawn is over the same *cohort*: the channel's videos with a launch-curve
value at every one of those ages (old enough for all of them, and observed around each). A
median of fewer than ``MIN_COHORT`` videos is not drawn: with one or two videos it is those
videos, not a norm.

The curves are read from ``video_launch_curves`` (at most six rows a video), so a channel of
thousands of videos is a few thousand rows; the cohort is chosen in pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, text

from ytmetrics_dagster.warehouse.analysis import LAUNCH_AGES

MIN_COHORT = 3
COHORT_DEFINITION = (
    "median at each age over the same cohort: the channel's videos with a launch-curve value "
    f"at every age drawn (the video compared excluded); not drawn from fewer than {MIN_COHORT}"
)
_MEDIAN_COLUMNS = ["age_label", "age_hours", "median_views", "median_likes", "median_comments"]


@dataclass(frozen=True)
class CohortMedian:
    """The channel median over one cohort. ``median`` is empty when the cohort has fewer than
    ``MIN_COHORT`` videos; ``videos`` is the cohort's size either way."""

    channel_id: str | None
    ages: tuple[tuple[str, int], ...]
    videos: int
    median: pd.DataFrame = field(repr=False)

    @property
    def drawn(self) -> bool:
        return len(self.median) > 0

    @property
    def note(self) -> str:
        if not self.ages:
            return "no launch-curve ages to compare"
        span = f"{self.ages[0][0]}–{self.ages[-1][0]}" if len(self.ages) > 1 else self.ages[0][0]
        if self.drawn:
            return f"channel median over the same {self.videos} videos at every age ({span})"
        return (
            f"no channel median: {self.videos} of the channel's videos have every age "
            f"{span}, fewer than {MIN_COHORT}"
        )

    def by_age(self) -> dict[str, dict]:
        return {r["age_label"]: r for r in self.median.to_dict("records")}


def channel_curves(engine: Engine, channel_id: str | None) -> pd.DataFrame:
    """The stored launch-curve values (non-null views) of a channel's videos."""
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                """
                SELECT video_id, age_label, age_hours, views, likes, comments
                FROM ytmetrics.video_launch_curves
                WHERE channel_id = :c AND views IS NOT NULL
                """
            ),
            conn,
            params={"c": channel_id},
        )


def cohort_median(
    curves: pd.DataFrame,
    ages: Sequence[tuple[str, int]],
    *,
    channel_id: str | None = None,
    exclude_video_id: str | None = None,
) -> CohortMedian:
    """The median at each of ``ages`` over the videos of ``curves`` that have a value at
    every one of them."""
    ages = tuple(ages)
    labels = [label for label, _ in ages]
    frame = curves[curves.age_label.isin(labels)] if len(curves) else curves
    if exclude_video_id is not None and len(frame):
        frame = frame[frame.video_id != exclude_video_id]
    if len(frame) and labels:
        counts = frame.groupby("video_id").age_label.nunique()
        cohort = counts[counts == len(labels)].index
        frame = frame[frame.video_id.isin(cohort)]
        size = len(cohort)
    else:
        size = 0
    if size < MIN_COHORT:
        return CohortMedian(channel_id, ages, size, pd.DataFrame(columns=_MEDIAN_COLUMNS))
    grouped = frame.groupby(["age_label", "age_hours"], as_index=False).agg(
        median_views=("views", "median"),
        median_likes=("likes", "median"),
        median_comments=("comments", "median"),
    )
    return CohortMedian(
        channel_id, ages, size, grouped.sort_values("age_hours").reset_index(drop=True)
    )


def best_cohort(
    curves: pd.DataFrame,
    ages: Sequence[tuple[str, int]] = LAUNCH_AGES,
    *,
    channel_id: str | None = None,
    exclude_video_id: str | None = None,
) -> CohortMedian:
    """The longest run of consecutive ``ages`` whose cohort still has ``MIN_COHORT`` videos
    (more ages shrink the cohort to the videos with a value at all of them), the larger cohort
    among runs of one length; when no run has enough, the largest cohort of a single age,
    with no median."""
    ages = tuple(ages)
    best = None
    for length in range(len(ages), 0, -1):
        for start in range(len(ages) - length + 1):
            found = cohort_median(
                curves,
                ages[start : start + length],
                channel_id=channel_id,
                exclude_video_id=exclude_video_id,
            )
            if found.drawn and (best is None or found.videos > best.videos):
                best = found
        if best is not None:
            return best
    singles = [
        cohort_median(curves, [age], channel_id=channel_id, exclude_video_id=exclude_video_id)
        for age in ages
    ]
    return max(singles, key=lambda c: c.videos) if singles else cohort_median(curves, ())


def cohort_for_video(engine: Engine, video_id: str, channel_id: str | None, curve: pd.DataFrame):
    """The channel cohort to compare one video with: the longest run of the ages at which the
    video has a value over which at least ``MIN_COHORT`` of the channel's *other* videos have
    a value at every one (when the video has no value yet, the channel's best cohort)."""
    curves = channel_curves(engine, channel_id)
    own = curve[curve.views.notna()] if len(curve) else curve
    ages = tuple((r.age_label, int(r.age_hours)) for r in own.itertuples()) if len(own) else ()
    return best_cohort(
        curves, ages or LAUNCH_AGES, channel_id=channel_id, exclude_video_id=video_id
    )
