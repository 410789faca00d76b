"""Benchmark the dashboard's JSON twins through their result models: the page's values (as
``views.video_list`` and ``compare.compare_page`` build them: plain Python values, datetimes)
converted by ``results.jsonable`` (what the routes did before the models) and by
``ListPage``/``ComparePage`` (what they do now), the two outputs asserted equal. Run on demand;
results are recorded in BENCHMARKS.md.

    .venv/bin/python benchmarks/dashboard_json_benchmark.py [--repeat 7]

Pure Python: no database. The list is its largest page (100 rows, each with a 7-day hourly
sparkline: 16,800 points); the comparison its largest (8 videos, 30 days by age and by time:
11,520 points).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

from ytmetrics_dagster.surfaces import results

START = datetime(2026, 11, 1, 5, 0, 7, tzinfo=UTC)


def _video(i: int) -> dict:
    return {
        "video_id": f"v{i:010d}",
        "title": f"video {i}",
        "channel_id": "UC" + "a" * 22,
        "channel_title": "a channel",
        "published_at": START,
        "status": "active",
    }


def list_page(rows: int = 100, points: int = 168) -> dict:
    videos = [
        {
            **_video(i),
            "source": "youtube",
            "added_at": START,
            "last_observed_at": START + timedelta(hours=points),
            "latest_views": 1000 + i,
            "latest_source": "youtube",
            "simulated": False,
            "gained_24h": None if i % 5 == 0 else 240 + i,
            "views_per_hour": 10.5 + i,
            "sparkline": [
                {"at": START + timedelta(hours=h), "views": 1000 + h} for h in range(points)
            ],
        }
        for i in range(rows)
    ]
    summary = {
        "as_of": START,
        "active_videos": rows,
        "tracked_videos": rows,
        "observations_24h": rows * 24,
        "missed_hours_24h": 0,
        "missed_hours_total": 0,
        "last_snapshot_hour": START,
        "quota_day_pacific": "2026-11-01",
        "quota_used_today": 24,
        "quota_budget": 10000,
    }
    query = {"q": None, "status": "active", "channel": None, "sort": "added", "order": "desc"}
    return {
        "query": {**query, "page": 1, "per_page": rows},
        "summary": summary,
        "growth_definition": "gained_24h: …",
        "total": rows,
        "pages": 1,
        "videos": videos,
        "simulated": False,
        "channels": [{"channel_id": "UC" + "a" * 22, "channel_title": "a channel", "videos": 9}],
    }


def compare_page(videos: int = 8, hours: int = 720) -> dict:
    def series() -> list[dict]:
        return [
            {
                "observed_at": START + timedelta(hours=h),
                "age_hours": h + 0.25,
                "views": 100 * h,
                "views_per_hour": None if h == 0 else 100.0,
                "hours_elapsed": None if h == 0 else 1.0,
            }
            for h in range(hours)
        ]

    return {
        "query": {
            "videos": [f"v{i:010d}" for i in range(videos)],
            "q": None,
            "age_days": 30,
            "days": 30,
            "max_videos": 8,
        },
        "window": {"by_time_start": START, "by_time_end": START, "age_hours": hours},
        "gap_minutes": 90,
        "videos": [
            {
                **_video(i),
                "series_class": f"s{i}",
                "gained_24h": 2400,
                "views_per_hour": 100.0,
                "by_age": series(),
                "by_time": series(),
            }
            for i in range(videos)
        ],
        "search_results": [],
        "simulated": False,
    }


def best_and_median(convert, raw, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        convert(raw)
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for name, raw, model in (
        ("list, 100 rows x 168 sparkline points", list_page(), results.ListPage),
        ("comparison, 8 videos x 2 x 720 points", compare_page(), results.ComparePage),
    ):
        typed = model.model_validate(raw).json_dict()  # and builds the model
        assert json.dumps(typed) == json.dumps(results.jsonable(raw))
        old = best_and_median(results.jsonable, raw, args.repeat)
        new = best_and_median(lambda r, m=model: m.model_validate(r).json_dict(), raw, args.repeat)
        print(
            f"{name}: jsonable best {old[0]:.0f} ms / median {old[1]:.0f} ms; "
            f"{model.__name__} best {new[0]:.0f} ms / median {new[1]:.0f} ms"
        )


if __name__ == "__main__":
    main()
