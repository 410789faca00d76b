"""Configuration from the environment: one place reads it, everything else asks here.

YTMETRICS_DATABASE_URL     external Postgres for the warehouse; unset -> embedded Postgres
YOUTUBE_API_KEY            the real API; unset -> the offline simulator (data labelled simulated)
YTMETRICS_YOUTUBE_API_URL  API base URL (default https://www.googleapis.com/youtube/v3)
YTMETRICS_HOME             where embedded data lives (default: .ytmetrics/ in the project
                           checkout containing the current directory, else ./.ytmetrics)
DAGSTER_HOME               Dagster instance home (default $YTMETRICS_HOME/dagster_home)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    youtube_api_key: str | None
    youtube_api_url: str | None
    home: Path
    dagster_home_env: str | None = None

    @property
    def dagster_home(self) -> Path:
        return Path(self.dagster_home_env) if self.dagster_home_env else self.home / "dagster_home"

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def uses_simulator(self) -> bool:
        return not self.youtube_api_key


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _default_home() -> Path:
    # From anywhere inside the checkout (notebooks/ included) use the project's data.
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "workspace.yaml").is_file() and (folder / "ytmetrics_dagster").is_dir():
            return folder / ".ytmetrics"
    return cwd / ".ytmetrics"


def load_settings() -> Settings:
    home = _env("YTMETRICS_HOME")
    return Settings(
        database_url=_env("YTMETRICS_DATABASE_URL"),
        youtube_api_key=_env("YOUTUBE_API_KEY"),
        youtube_api_url=_env("YTMETRICS_YOUTUBE_API_URL"),
        home=Path(home).resolve() if home else _default_home(),
        dagster_home_env=_env("DAGSTER_HOME"),
    )


def _whole_number(name: str, default: int, minimum: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def channel_poll_seconds() -> int:
    """YTMETRICS_CHANNEL_POLL_SECONDS: how often each tracked channel's uploads are polled."""
    return _whole_number("YTMETRICS_CHANNEL_POLL_SECONDS", 300, 1)


def dagster_run_retention_days() -> int:
    """YTMETRICS_DAGSTER_RUN_RETENTION_DAYS: finished Dagster runs (and their event logs)
    older than this are purged daily. Unset or empty: 90. 0: keep everything (no purge)."""
    return _whole_number("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", 90, 0)


def pg_bin_dir() -> Path | None:
    """YTMETRICS_PG_BIN: directory of pg_dump/pg_restore to use instead of the embedded
    server's own (embedded) or the ones on PATH (external database)."""
    raw = _env("YTMETRICS_PG_BIN")
    return Path(raw) if raw else None
