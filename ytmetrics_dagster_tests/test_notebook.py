"""The downstream notebook runs top to bottom against the test database, in every state a
user can reach: a fresh start, one observation per video, a channel of once-observed videos,
daily videos only, and hourly launches."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ytmetrics_dagster.defs.growth.analysis import video_launch_curves
from ytmetrics_dagster.defs.growth.assets import video_growth_hourly
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse import video_listing
from ytmetrics_dagster.youtube.simulator.world import (
    WORLD_START,
    upload_id,
    upload_interval_hours,
    upload_time,
)

from .helpers import hour_key, normal_ids, register

pytestmark = pytest.mark.unit

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "video_growth.ipynb"


def test_notebook_is_committed_without_outputs():
    # the file's own JSON (nbformat would import jsonschema, ~2 s in every test worker)
    nb = json.loads(NOTEBOOK.read_text())
    assert all(not cell.get("outputs") for cell in nb["cells"] if cell["cell_type"] == "code")


def _observe(resources, first: datetime, last: datetime, run_config=None) -> None:
    assert dg.materialize(
        [video_metric_snapshots, video_growth_hourly],
        resources=resources,
        run_config=run_config,
        tags={
            "dagster/asset_partition_range_start": hour_key(first),
            "dagster/asset_partition_range_end": hour_key(last),
        },
    ).success
    assert dg.materialize([video_launch_curves], resources=resources).success


def _recent_uploads(channel: int, n: int, now: datetime, before_hours: int = 8) -> list[str]:
    """The channel's last ``n`` uploads published at least ``before_hours`` before ``now`` (by
    their real upload times: an upload is up to 3 h later than its slot)."""
    cutoff = now - timedelta(hours=before_hours)
    last = int((cutoff - WORLD_START).total_seconds() / 3600 / upload_interval_hours(channel))
    while upload_time(channel, last) > cutoff:
        last -= 1
    return [upload_id(channel, k) for k in range(last - n + 1, last + 1)]


def _first_hour(engine, ids: list[str]) -> datetime:
    """The hour the earliest of ``ids`` was published in: observing from there brackets every
    video's first hour, whatever the minute it was published at and the hour the test runs."""
    published = min(video_listing.get_video(engine, v)["published_at"] for v in ids)
    return published.replace(minute=0, second=0, microsecond=0)


def _run_notebook(database_url, monkeypatch) -> tuple[str, int]:
    monkeypatch.setenv("YTMETRICS_DATABASE_URL", database_url)
    monkeypatch.delenv("YTMETRICS_NOTEBOOK_VIDEO", raising=False)
    import nbformat  # here: its jsonschema import costs ~2 s in every test worker
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    outputs = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    assert "Traceback" not in outputs and "Error" not in outputs, outputs
    assert "np.float64(" not in outputs and "np.int64(" not in outputs
    images = sum(
        "image/png" in o.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    return outputs, images


# Each state a user can reach: (data it needs) -> (what the notebook must print, plots drawn).


def _fresh(engine, resources, now):
    return ["0 tracked videos", "no observations yet", "no launch curves yet"], 0


def _one_observation(engine, resources, now):
    # right after `make run`: every video observed once, in the current hour
    register(engine, resources, _recent_uploads(0, 3, now, before_hours=30))
    _observe(resources, now, now)
    # the hourly plot (its views/hour panel says why it is empty)
    return ["3 tracked videos", "1 observed hours, 0 with a views/hour"], 1


def _once_observed_channel(engine, resources, now):
    # `track-channel --existing all`, then one hour: many videos, one observation each
    register(engine, resources, _recent_uploads(1, 40, now, before_hours=2))
    _observe(resources, now - timedelta(hours=1), now - timedelta(hours=1))
    return ["40 tracked videos", "1 observed hours, 0 with a views/hour"], None


def _daily_only(engine, resources, now):
    # videos a month old, observed once a day at 12:00 UTC for three days
    first, last = now - timedelta(hours=72), now - timedelta(hours=1)
    # first observed in the range's first hour (never observed: due at once), then at 12:00
    hours = sorted({first} | {h for h in _hours(first, last) if h.hour == 12})
    observed = [h + timedelta(minutes=5) for h in hours]  # at the snapshot minute

    def reach_30_days(k: int) -> bool:  # the daily observations bracket its 30 d age
        return observed[0] <= upload_time(2, k) + timedelta(days=30) <= observed[-1]

    # four uploads of which two reach 30 d within the observations (which ones depends on the
    # day the test runs: chosen by their upload times)
    slot = int((now - timedelta(days=30) - WORLD_START) / timedelta(hours=upload_interval_hours(2)))
    for k in range(slot + 3, slot - 10, -1):
        if sum(reach_30_days(j) for j in range(k - 3, k + 1)) == 2:
            break
    else:
        raise AssertionError("no four consecutive uploads of which two reach 30 d")
    register(engine, resources, [upload_id(2, j) for j in range(k - 3, k + 1)])
    daily = {
        "ops": {"video_metric_snapshots": {"config": {"cadence": "*:24h", "daily_hour_utc": 12}}}
    }
    _observe(resources, first, last, run_config=daily)
    return [
        "4 tracked videos",
        f"{len(hours)} observed hours, {len(hours) - 1} with a views/hour",
        # daily observations bracket the 30 d age of two of them: no median from two videos
        "launch curves of 2 videos",
        "no channel median",
    ], 2


def _hours(first: datetime, last: datetime) -> list[datetime]:
    return [first + timedelta(hours=n) for n in range(int((last - first) / timedelta(hours=1)) + 1)]


def _hourly_launches(engine, resources, now):
    # three recent uploads of simulated channel 0, observed through their first hours
    ids = _recent_uploads(0, 3, now)
    # an older video of another channel, observed more often than any of them: the notebook
    # must still pick the channel with several videos (a median of one video is itself)
    (loner,) = normal_ids(1)
    register(engine, resources, [*ids, loner])
    _observe(resources, _first_hour(engine, ids), now - timedelta(hours=1))
    channel_0 = video_listing.get_video(engine, ids[0])["channel_id"]
    return [
        "4 tracked videos",
        f"channel: {channel_0}",
        f"launch curves of 3 videos of {channel_0}",
        # one cohort for every age drawn, its size stated
        "channel median over the same 3 videos at every age (1h–",
        "next milestone",
    ], 2  # the hourly plot and the launch curves


def _two_launches(engine, resources, now):
    ids = _recent_uploads(0, 2, now)
    register(engine, resources, ids)
    _observe(resources, _first_hour(engine, ids), now - timedelta(hours=1))
    return [
        "launch curves of 2 videos",
        "no channel median: 2 of the channel's videos have every age 1h, fewer than 3",
    ], 2


STATES = {
    "fresh": _fresh,
    "one_observation": _one_observation,
    "once_observed_channel": _once_observed_channel,
    "daily_only": _daily_only,
    "hourly_launches": _hourly_launches,
    "two_launches": _two_launches,
}


@pytest.mark.system
@pytest.mark.parametrize("state", list(STATES))
def test_notebook_runs_in_every_state(state, engine, resources, database_url, monkeypatch):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    expected, images = STATES[state](engine, resources, now)
    outputs, drawn = _run_notebook(database_url, monkeypatch)
    for text in expected:
        assert text in outputs, (text, outputs)
    if images is not None:
        assert drawn == images
