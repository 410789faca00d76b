"""The downstream notebook runs top to bottom against the test database."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import nbformat
from nbclient import NotebookClient

from ytmetrics_dagster.defs.assets.analysis import video_launch_curves
from ytmetrics_dagster.defs.assets.growth import video_growth_hourly
from ytmetrics_dagster.defs.assets.snapshots import video_metric_snapshots
from ytmetrics_dagster.defs.assets.videos import tracked_videos
from ytmetrics_dagster.warehouse import queries
from ytmetrics_dagster.warehouse.registrations import queue_registrations
from ytmetrics_dagster.youtube.simulator.catalog import (
    WORLD_START,
    upload_id,
    upload_interval_hours,
)

from .helpers import normal_ids

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "video_growth.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_notebook_executes_against_the_warehouse(engine, resources, database_url, monkeypatch):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    # three recent uploads of simulated channel 0, observed through their first hours
    last = int(
        (now - timedelta(hours=8) - WORLD_START).total_seconds() / 3600 / upload_interval_hours(0)
    )
    ids = [upload_id(0, n) for n in range(last - 2, last + 1)]
    # an older video of another channel, observed more often than any of them: the notebook
    # must still pick the channel with several videos (a median of one video is itself)
    (loner,) = normal_ids(1)
    queue_registrations(engine, [(v, v) for v in [*ids, loner]])
    assert dg.materialize([tracked_videos], resources=resources).success
    first = now - timedelta(hours=40)
    assert dg.materialize(
        [video_metric_snapshots, video_growth_hourly],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": first.strftime("%Y-%m-%d-%H:%M"),
            "dagster/asset_partition_range_end": (now - timedelta(hours=1)).strftime(
                "%Y-%m-%d-%H:%M"
            ),
        },
    ).success
    assert dg.materialize([video_launch_curves], resources=resources).success

    monkeypatch.setenv("YTMETRICS_DATABASE_URL", database_url)
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
    assert "4 tracked videos" in outputs
    channel_0 = queries.get_video(engine, ids[0])["channel_id"]
    assert f"channel: {channel_0}" in outputs
    assert any(f"video: {v}" in outputs for v in ids)
    assert f"launch curves of 3 videos of {channel_0}" in outputs
    assert "np.float64(" not in outputs and "np.int64(" not in outputs
    images = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) == 2  # the hourly plot and the launch curves
