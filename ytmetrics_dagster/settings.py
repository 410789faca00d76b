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


DEFAULT_DASHBOARD_PORT = 3100


@dataclass(frozen=True)
class DashboardSettings:
    """YTMETRICS_DASHBOARD_PORT  port the dashboard listens on (default 3100)
    YTMETRICS_DASHBOARD_URL   where people reach it, for links from Dagster
                              (default http://127.0.0.1:<port>; ``off`` → no links)"""

    port: int
    url: str | None


def load_dashboard_settings() -> DashboardSettings:
    raw_port = _env("YTMETRICS_DASHBOARD_PORT")
    if raw_port is None:
        port = DEFAULT_DASHBOARD_PORT
    elif raw_port.isdigit() and 1 <= int(raw_port) <= 65535:
        port = int(raw_port)
    else:
        raise ValueError(f"YTMETRICS_DASHBOARD_PORT must be a port number, got {raw_port[:40]!r}")
    url = _env("YTMETRICS_DASHBOARD_URL")
    if url is None:
        url = f"http://127.0.0.1:{port}"
    elif url.lower() == "off":
        url = None
    return DashboardSettings(port=port, url=url.rstrip("/") if url else None)
