"""Asset checks on the snapshots and the hourly growth: each one can fail.

Every check looks at a window of snapshot hours: the partitions of the run it is part of (the
hourly job checks the hour it just observed; a backfill checks its range), or, run on its own
(e.g. "Execute" on the check in the UI), the ``hours`` hours ending with ``last_hour`` (run
config; by default the last 24 hours). Freshness is not a check here:
it is watched from outside the runs by Dagster's freshness policies (``defs/operations/freshness.py``).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.defs.resources import ClockResource, WarehouseResource
from ytmetrics_dagster.warehouse import quality

HOUR = timedelta(hours=1)
GAP_WINDOW_HOURS = 24


class CheckWindowConfig(dg.Config):
    hours: int = Field(
        default=24,
        ge=1,
        le=24 * 366,
        description="Run on its own (no partition): how many snapshot hours to check, ending "
        "with `last_hour`.",
    )
    last_hour: str | None = Field(
        default=None,
        description="Run on its own: the last snapshot hour to check, as a partition key "
        "(YYYY-MM-DD-HH:MM, UTC); default the hour in progress.",
    )


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"


def check_window(
    context: dg.AssetCheckExecutionContext, config: CheckWindowConfig, clock: ClockResource
) -> Window:
    if context.has_partition_key or context.has_partition_key_range:
        window = context.partition_time_window
        return Window(window.start, window.end)
    if config.last_hour:
        try:
            last = datetime.strptime(config.last_hour, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
        except ValueError:
            raise dg.Failure(
                f"last_hour must be YYYY-MM-DD-HH:MM, got {config.last_hour[:40]!r}",
                allow_retries=False,
            ) from None
    else:
        last = clock.now().replace(minute=0, second=0, microsecond=0)
    end = last.replace(minute=0) + HOUR
    return Window(end - config.hours * HOUR, end)


def _hours(values, limit: int = 24) -> str:
    return ", ".join(f"{v:%Y-%m-%d %H:00}" for v in list(values)[:limit])


@dg.asset_check(
    asset="video_metric_snapshots",
    name="due_videos_observed",
    blocking=True,
    description=(
        "Coverage: in every hour checked, the hour holds an observation of at least "
        f"{quality.MIN_COVERAGE:.0%} of the videos that were due (at most "
        f"{quality.ALWAYS_ALLOWED_MISSING} missing are always tolerated). A due video is "
        "missing only when YouTube leaves it out of its answer, which retires it after a few "
        "misses, so more missing than that is a partial answer or a mass removal, not churn. "
        "Blocking: the hour's growth waits for a look."
    ),
)
def due_videos_observed(
    context: dg.AssetCheckExecutionContext,
    config: CheckWindowConfig,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.AssetCheckResult:
    window = check_window(context, config, clock)
    hours = quality.hour_coverage(warehouse.get_engine(), window.start, window.end)
    failed = [h for h in hours if not h["passed"]]
    due = sum(h["due"] for h in hours)
    written = sum(h["written"] for h in hours)
    worst = min(hours, key=lambda h: h["coverage"], default=None)
    return dg.AssetCheckResult(
        passed=not failed,
        metadata={
            "window": window.label,
            "hours_checked": len(hours),
            "videos_due": due,
            "videos_observed": written,
            "coverage": round(written / due, 4) if due else 1.0,
            "worst_hour": f"{worst['snapshot_hour']:%Y-%m-%d %H:00}" if worst else "none",
            "worst_hour_coverage": round(worst["coverage"], 4) if worst else 1.0,
            "hours_below_threshold": len(failed),
            "failed_hours": _hours(h["snapshot_hour"] for h in failed),
            "min_coverage": quality.MIN_COVERAGE,
        },
    )


@dg.asset_check(
    asset="video_metric_snapshots",
    name="observed_within_their_hour",
    description=(
        "Every observation read from the real API (source 'youtube') was taken inside the "
        "hour it is stored under. One taken after the hour closed (a run that overran) "
        "belongs to the next hour; growth still uses its real time, so this does not block."
    ),
)
def observed_within_their_hour(
    context: dg.AssetCheckExecutionContext,
    config: CheckWindowConfig,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.AssetCheckResult:
    window = check_window(context, config, clock)
    found = quality.observations_outside_their_hour(
        warehouse.get_engine(), window.start, window.end
    )
    return dg.AssetCheckResult(
        passed=found["outside"] == 0,
        metadata={
            "window": window.label,
            "youtube_observations": found["youtube_rows"],
            "observed_after_their_hour": found["outside"],
            "max_seconds_after_hour_start": found["max_seconds_after_hour"],
            "hours": ", ".join(found["hours"][:24]),
        },
    )


@dg.asset_check(
    asset="video_metric_snapshots",
    name="one_source_per_video",
    blocking=True,
    description=(
        "Every video's observations come from one source: no hour holds both real and "
        "simulated observations, and no video is observed from a source other than the one "
        "it was registered from. A mix makes its growth compare two different counters. "
        "Blocking."
    ),
)
def one_source_per_video(
    context: dg.AssetCheckExecutionContext,
    config: CheckWindowConfig,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.AssetCheckResult:
    window = check_window(context, config, clock)
    found = quality.source_conflicts(warehouse.get_engine(), window.start, window.end)
    return dg.AssetCheckResult(
        passed=found["mixed_hours"] == 0 and found["videos"] == 0,
        metadata={
            "window": window.label,
            "hours_with_two_sources": found["mixed_hours"],
            "videos_with_another_source": found["videos"],
            "examples": ", ".join(found["examples"]),
        },
    )


@dg.asset_check(
    asset="video_metric_snapshots",
    name="no_missing_hours_24h",
    description=(
        "Every closed hour of the last 24 since tracking began holds a full observation (the "
        "hour's run wrote it). Warning: with the real API a missed hour cannot be recovered; "
        "the reasons recorded in ytmetrics.missed_hours are shown."
    ),
)
def no_missing_hours_24h(warehouse: WarehouseResource, clock: ClockResource) -> dg.AssetCheckResult:
    found = quality.unobserved_hours(warehouse.get_engine(), GAP_WINDOW_HOURS, clock.now())
    missing = found["missing"]
    reasons = "; ".join(
        f"{hour:%Y-%m-%d %H:00}: {reason[:200]}" for hour, reason in found["reasons"].items()
    )
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "hours_checked": found["checked_hours"],
            "checked_since": found["since"].isoformat() if found["since"] else "no video tracked",
            "missing_hours": len(missing),
            "missing": _hours(missing),
            "reasons": reasons[:2000],
        },
    )


@dg.asset_check(
    asset="video_growth_hourly",
    name="growth_matches_snapshots",
    blocking=True,
    description=(
        "The stored hourly growth rows of the hours checked equal the same rows recomputed now "
        "from the snapshots as committed: none missing, none without a snapshot behind it, "
        "none with other values. Fails when a snapshot hour was rewritten after its growth was "
        "computed; materializing video_growth_hourly for those hours repairs it."
    ),
)
def growth_matches_snapshots(
    context: dg.AssetCheckExecutionContext,
    config: CheckWindowConfig,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.AssetCheckResult:
    window = check_window(context, config, clock)
    found = quality.growth_differences(warehouse.get_engine(), window.start, window.end)
    bad = found["missing"] + found["unexpected"] + found["differing"]
    return dg.AssetCheckResult(
        passed=bad == 0,
        metadata={
            "window": window.label,
            "expected_rows": found["expected_rows"],
            "stored_rows": found["stored_rows"],
            "missing_rows": found["missing"],
            "rows_without_snapshot": found["unexpected"],
            "rows_with_other_values": found["differing"],
            "examples": ", ".join(found["examples"]),
        },
    )
