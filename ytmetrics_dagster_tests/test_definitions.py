"""The whole Definitions object loads, and is wired the way production runs it."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ytmetrics_dagster.definitions import defs

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def load() -> dg.Definitions:
    return defs() if callable(defs) else defs


def test_definitions_load_with_every_asset_job_schedule_and_sensor():
    d = load()
    repo = d.get_repository_def()
    assert {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()} == {
        "tracked_videos",
        "video_metric_snapshots",
        "video_growth_hourly",
        "video_growth_daily",
        "channel_growth_daily",
        "video_launch_curves",
        "channel_launch_curves",
        "video_milestone_projections",
        "channel_statistics",
        # tables written outside runs, observed by warehouse_tables_sensor
        "registration_requests",
        "channels",
        "api_calls",
        "alerts",
    }
    assert {k.to_user_string() for k in repo.asset_graph.asset_check_keys} == {
        "video_metric_snapshots:views_not_decreasing",
        "video_metric_snapshots:due_videos_observed",
        "video_metric_snapshots:observed_within_their_hour",
        "video_metric_snapshots:one_source_per_video",
        "video_metric_snapshots:no_missing_hours_24h",
        "video_growth_hourly:growth_matches_snapshots",
    }
    assert {s.name for s in repo.schedule_defs} == {
        "hourly_snapshot_schedule",
        "daily_growth_schedule",
        "refresh_tracked_videos_schedule",
        "analysis_schedule",
        "partition_upkeep_schedule",
        "retention_schedule",
        "dagster_run_purge_schedule",
    }
    assert {s.name for s in repo.sensor_defs} == {
        "registration_requests_sensor",
        "collection_requests_sensor",
        "new_videos_snapshot_sensor",
        "channel_uploads_sensor",
        "run_failure_alert_sensor",
        "quota_alert_sensor",
        "viral_video_sensor",
        "growth_automation_sensor",
        "quota_capacity_sensor",
        "alert_delivery_sensor",
        "freshness_alert_sensor",
        "warehouse_tables_sensor",
        "hour_watchdog_sensor",
        "hour_accounting_sensor",
        "dead_run_release_sensor",
        "canceled_run_release_sensor",
    }
    assert "register_videos" in {j.name for j in repo.get_all_jobs()}
    for schedule in repo.schedule_defs:
        # retention drops data: on by default only when a policy is configured
        expected = (
            dg.DefaultScheduleStatus.STOPPED
            if schedule.name == "retention_schedule"
            else dg.DefaultScheduleStatus.RUNNING
        )
        assert schedule.default_status == expected, schedule.name
    for sensor in repo.sensor_defs:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert set(repo.get_top_level_resources()) >= {"youtube", "warehouse", "alerting"}


def test_api_bound_assets_share_the_youtube_pool():
    repo = load().get_repository_def()
    graph = repo.asset_graph
    for key in ("tracked_videos", "video_metric_snapshots"):
        assets_def = graph.get(dg.AssetKey(key)).assets_def
        assert assets_def.op.pool == "youtube_api"


def test_hourly_schedule_observes_the_hour_in_progress():
    repo = load().get_repository_def()
    schedule = repo.get_schedule_def("hourly_snapshot_schedule")
    assert schedule.cron_schedule == "5 * * * *"
    assert schedule.job_name == "hourly_snapshot_job"


@pytest.mark.system
def test_dagster_cli_validates_the_project():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "ytmetrics_dagster.definitions",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_asset_names_its_table_and_is_watched_for_freshness():
    """Column schemas are read from the database at materialization (test_catalog.py), not
    when definitions load; freshness is watched by the daemon (test_freshness.py)."""
    repo = load().get_repository_def()
    for key in repo.asset_graph.get_all_asset_keys():
        node = repo.asset_graph.get(key)
        assert node.description, key
        assert node.metadata["dagster/table_name"].startswith("ytmetrics."), key
        assert "dagster/column_schema" not in node.metadata, key
        assert node.is_external or node.freshness_policy is not None, key
