"""Launch-curve medians compare like with like (one cohort across the ages drawn, at least 3
videos), and milestone ETAs past the horizon are not dated."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.growth.analysis import video_milestone_projections
from ytmetrics_dagster.warehouse import analysis, cohorts, performance

from .helpers import DAY, normal_ids, observe_directly, track_directly

pytestmark = pytest.mark.unit

# The shape: at 1 h and 6 h two new hits, at 24 h one old slow video. A median per
# age over whoever reached it "falls with age"; over one cohort it cannot.
CURVES = pd.DataFrame(
    [
        (vid, label, hours, views)
        for vid, points in {
            "hitA": {"1h": 6000, "6h": 30000, "24h": 90000},
            "hitB": {"1h": 7000, "6h": 36000, "24h": 100000},
            "midC": {"1h": 100, "6h": 900},
            "midD": {"1h": 200, "6h": 1000},
            "old": {"1h": 10, "6h": 80, "24h": 850, "48h": 1000},
        }.items()
        for label, views in points.items()
        for hours in [dict(analysis.LAUNCH_AGES)[label]]
    ],
    columns=["video_id", "age_label", "age_hours", "views"],
).assign(likes=1.0, comments=1.0)


def test_one_cohort_for_every_age_drawn():
    found = cohorts.best_cohort(CURVES)
    # 1 h and 6 h: five videos have both; 24 h would leave three... and 48 h one
    assert [label for label, _ in found.ages] == ["1h", "6h", "24h"]
    assert found.videos == 3 and found.drawn
    by_age = found.by_age()
    assert by_age["1h"]["median_views"] == 6000  # hitA, hitB, old
    assert by_age["24h"]["median_views"] == 90000
    medians = [by_age[label]["median_views"] for label in ("1h", "6h", "24h")]
    assert medians == sorted(medians)  # a cohort's cumulative views cannot fall with age
    assert "same 3 videos" in found.note


def test_no_median_from_fewer_than_three():
    found = cohorts.cohort_median(CURVES, analysis.LAUNCH_AGES[:4])
    assert found.videos == 1 and not found.drawn and found.median.empty
    assert "fewer than 3" in found.note
    # the video compared is not part of its own norm
    two = cohorts.cohort_median(CURVES, analysis.LAUNCH_AGES[:3], exclude_video_id="old")
    assert two.videos == 2 and not two.drawn


@pytest.mark.db
def test_channel_table_holds_no_median_of_fewer_than_three(engine):
    rows = [
        {"v": v, "c": "UCx", "l": label, "h": hours, "views": views}
        for v, label, hours, views in CURVES[
            ["video_id", "age_label", "age_hours", "views"]
        ].itertuples(index=False)
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ytmetrics.video_launch_curves (video_id, channel_id, age_label,"
                " age_hours, views) VALUES (:v, :c, :l, :h, :views)"
            ),
            rows,
        )
        conn.execute(
            text(analysis._CHANNEL_CURVES_SQL),
            {"min_videos": analysis.MIN_CHANNEL_VIDEOS},
        )
    stored = performance.channel_median_curve(engine, "UCx").set_index("age_label")
    # each age over the videos with a value there; 48 h (one video) is not stored
    assert list(stored.index) == ["1h", "6h", "24h"]
    assert list(stored.videos) == [5, 5, 3]
    assert stored.loc["24h"].median_views == 90000


@pytest.mark.db
def test_eta_beyond_the_horizon_is_not_a_date(engine, resources, monkeypatch):
    vid = normal_ids(1)[0]
    track_directly(engine, [vid])
    observe_directly(engine, [DAY + timedelta(hours=h) for h in (0, 12, 24)])
    # with a horizon of a century the projection is dated...
    monkeypatch.setattr(analysis, "ETA_HORIZON_HOURS", 24 * 365 * 100)
    dated = performance.milestone(engine, vid, now=datetime.now(UTC))
    assert dated["eta_at"] is not None and dated["eta_beyond_horizon"] is False
    assert analysis.eta_text(dated) == dated["eta_at"]
    # ...with the year's horizon the same projection (years away) is not
    monkeypatch.undo()
    assert dated["eta_hours"] > analysis.ETA_HORIZON_HOURS
    far = performance.milestone(engine, vid, now=datetime.now(UTC))
    assert far["eta_at"] is None and far["eta_hours"] is None
    assert far["eta_beyond_horizon"] is True and far["views_per_hour"] > 0
    assert analysis.eta_text(far) == "beyond 1 year"
    assert dg.materialize([video_milestone_projections], resources=resources).success
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT eta_at FROM ytmetrics.video_milestones")).scalar_one()
    assert stored is None
