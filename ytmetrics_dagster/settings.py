"""Configuration from the environment: one place reads it, everything else asks here.

YTMETRICS_DATABASE_URL     external Postgres for the warehouse; unset -> embedded Postgres
YTMETRICS_SOURCE           youtube (default) | simulator: where statistics come from. Never
                           inferred from a missing key: with youtube and no key, API-bound
                           runs fail before any call or write.
YOUTUBE_API_KEY            the real API's key (required with YTMETRICS_SOURCE=youtube)
YTMETRICS_YOUTUBE_API_URL  API base URL (default https://www.googleapis.com/youtube/v3; with
                           the simulator, unset means one served in-process on 127.0.0.1)
YTMETRICS_HOME             where embedded data lives (default: the one the last `ytmetrics
                           dev` (make run) of this installation served, recorded in
                           ~/.local/state/ytmetrics/; else .ytmetrics/ in the project checkout
                           containing the current directory, else ./.ytmetrics). `ytmetrics
                           dev` itself never follows that record.
YTMETRICS_PARTITIONS_START the time partitions' first day, YYYY-MM-DD (default: the day
                           recorded in $YTMETRICS_HOME/partitions_start by `ytmetrics db
                           upgrade` or `ytmetrics dev`)
DAGSTER_HOME               Dagster instance home (default $YTMETRICS_HOME/dagster_home)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SOURCES = ("youtube", "simulator")


class ConfigurationError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    youtube_api_key: str | None
    youtube_api_url: str | None
    home: Path
    dagster_home_env: str | None = None
    source: str = "youtube"

    @property
    def dagster_home(self) -> Path:
        return Path(self.dagster_home_env) if self.dagster_home_env else self.home / "dagster_home"

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def uses_simulator(self) -> bool:
        return self.source == "simulator"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _default_home() -> Path:
    # The data directory the last `ytmetrics dev` (make run) of this installation served, from
    # any directory and terminal (warehouse/data_dir.py); else the checkout's.
    from ytmetrics_dagster.warehouse.data_dir import recorded_dev_home

    return recorded_dev_home() or _checkout_home()


def dev_home() -> Path:
    """`ytmetrics dev`'s data directory: YTMETRICS_HOME, else the checkout's (never the one an
    earlier `make run` was given: that stays a choice made by that command)."""
    home = _env("YTMETRICS_HOME")
    return Path(home).resolve() if home else _checkout_home()


def partitions_start() -> date | None:
    """The time partitions' first day: YTMETRICS_PARTITIONS_START (YYYY-MM-DD), else the day
    recorded in the data directory when its warehouse was migrated; None if neither."""
    raw = _env("YTMETRICS_PARTITIONS_START")
    if raw is None:
        from ytmetrics_dagster.warehouse.data_dir import recorded_partitions_start

        return recorded_partitions_start(load_settings().home)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigurationError(
            f"YTMETRICS_PARTITIONS_START must be a date YYYY-MM-DD, got {raw[:40]!r}"
        ) from None


def _checkout_home() -> Path:
    # From anywhere inside the checkout (notebooks/ included) use the project's data.
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "workspace.yaml").is_file() and (folder / "ytmetrics_dagster").is_dir():
            return folder / ".ytmetrics"
    return cwd / ".ytmetrics"


def source_setting() -> str:
    """YTMETRICS_SOURCE, validated; unset means the real API."""
    source = (_env("YTMETRICS_SOURCE") or "youtube").lower()
    if source not in SOURCES:
        raise ConfigurationError(
            f"YTMETRICS_SOURCE must be one of {', '.join(SOURCES)}, got {source[:40]!r}"
        )
    return source


def _days(name: str) -> int | None:
    raw = _env(name)
    if raw is None or raw == "0":
        return None
    if not raw.isdigit():
        raise ConfigurationError(f"{name} must be a number of days (or 0/unset: keep forever)")
    return int(raw)


def retention_days() -> tuple[int | None, int | None]:
    """(YTMETRICS_RETENTION_SNAPSHOT_DAYS, YTMETRICS_RETENTION_DERIVED_DAYS); None: forever."""
    return _days("YTMETRICS_RETENTION_SNAPSHOT_DAYS"), _days("YTMETRICS_RETENTION_DERIVED_DAYS")


def missing_key_message() -> str:
    how = "is 'youtube'" if _env("YTMETRICS_SOURCE") else "is 'youtube' (the default)"
    return (
        f"YTMETRICS_SOURCE {how} but YOUTUBE_API_KEY is not set: nothing was fetched or "
        "written. Set YOUTUBE_API_KEY to collect from YouTube, or YTMETRICS_SOURCE=simulator "
        "for the offline simulator (simulated data)."
    )


def load_settings() -> Settings:
    home = _env("YTMETRICS_HOME")
    return Settings(
        database_url=_env("YTMETRICS_DATABASE_URL"),
        youtube_api_key=_env("YOUTUBE_API_KEY"),
        youtube_api_url=_env("YTMETRICS_YOUTUBE_API_URL"),
        home=Path(home).resolve() if home else _default_home(),
        dagster_home_env=_env("DAGSTER_HOME"),
        source=source_setting(),
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
    """YTMETRICS_CHANNEL_POLL_SECONDS: how often each tracked channel's uploads are polled.
    Each poll costs at least one playlistItems page (1 unit): every 30 minutes is 48 units a
    channel a day, so ten channels fit the default 500-unit discovery reserve. A new upload is
    then registered within half an hour and observed within its first hour."""
    return _whole_number("YTMETRICS_CHANNEL_POLL_SECONDS", 1800, 60)


def dagster_run_retention_days() -> int:
    """YTMETRICS_DAGSTER_RUN_RETENTION_DAYS: finished Dagster runs (and their event logs)
    older than this are purged daily. Unset or empty: 90. 0: keep everything (no purge)."""
    return _whole_number("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", 90, 0)


def pg_bin_dir() -> Path | None:
    """YTMETRICS_PG_BIN: directory of pg_dump/pg_restore to use instead of the embedded
    server's own (embedded) or the ones on PATH (external database)."""
    raw = _env("YTMETRICS_PG_BIN")
    return Path(raw) if raw else None


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


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API beside the dashboard (/api/v1). Writes always need a token.

    YTMETRICS_API_READ_TOKENS        ``required``: reads need a token too (default: open)
    YTMETRICS_API_ALLOW_OPEN_READS   ``1``: serve open reads on a non-loopback address
                                     (refused at start otherwise)"""

    read_tokens_required: bool
    allow_open_reads: bool


def _flag(name: str, accepted: tuple[str, ...]) -> bool:
    raw = (_env(name) or "").lower()
    if raw in ("", "0", "false", "no", "off", "open"):
        return False
    if raw in accepted:
        return True
    raise ConfigurationError(
        f"{name} must be one of {', '.join(accepted)} or unset, got {raw[:40]!r}"
    )


def load_api_settings() -> ApiSettings:
    return ApiSettings(
        read_tokens_required=_flag("YTMETRICS_API_READ_TOKENS", ("required", "1", "true", "yes")),
        allow_open_reads=_flag("YTMETRICS_API_ALLOW_OPEN_READS", ("1", "true", "yes")),
    )
