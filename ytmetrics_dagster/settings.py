"""Configuration from the environment: one typed object reads it, everything else asks it.

``load_settings()`` returns :class:`Settings` (pydantic-settings), every variable the project
reads as a typed, validated field with a default and a description; docs/configuration.md is
generated from it (``python -m ytmetrics_dagster.settings``). A bad value is refused with a
``ConfigurationError`` naming the variable; a secret (API key, webhook URL, database URL) is
never echoed. No module but this one reads ``os.environ`` (ytmetrics_dagster_tests/
test_settings.py scans the package); copying the environment for a child process is allowed.

Cheap to import on purpose (the CLI's ``--help`` imports it): pydantic only, no Dagster, no
SQLAlchemy, no pandas.
"""

import functools
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SOURCES = ("youtube", "simulator")
DEFAULT_DASHBOARD_PORT = 3100
# domain/cadence.py parses it; kept here so the default is documented with the variable
DEFAULT_CADENCE_SPEC = "7d:1h,*:24h"


class ConfigurationError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 in brackets or not) is this machine only."""
    from ipaddress import ip_address

    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_loopback_url(url: str | None) -> bool:
    from urllib.parse import urlsplit

    try:
        return is_loopback(urlsplit(url or "").hostname or "")
    except ValueError:
        return False


class _Invalid(ValueError):
    """A field parser's complaint, without the variable's name (added by ``load_settings``)."""


def _shown(raw: str) -> str:
    return repr(raw[:40])


def _checkout_home() -> Path:
    # From anywhere inside the checkout (notebooks/ included) use the project's data.
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "workspace.yaml").is_file() and (folder / "ytmetrics_dagster").is_dir():
            return folder / ".ytmetrics"
    return cwd / ".ytmetrics"


def _default_home() -> Path:
    # The data directory the last `ytmetrics dev` (make run) of this installation served, from
    # any directory and terminal (data_dir.py); else the checkout's.
    from ytmetrics_dagster.data_dir import recorded_dev_home

    return recorded_dev_home() or _checkout_home()


# --- parsers: each takes the raw string (or an already-typed value given in code) --------


def _home(value: Any) -> Any:
    return Path(value).resolve() if isinstance(value, str) else value


def _source(value: Any) -> Any:
    source = value.lower() if isinstance(value, str) else value
    if source not in SOURCES:
        raise _Invalid(f"must be one of {', '.join(SOURCES)}, got {_shown(source)}")
    return source


def _whole(minimum: int, maximum: int | None = None, what: str | None = None):
    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            number = int(value)
        except ValueError:
            raise _Invalid(f"{what or 'must be a whole number'}, got {_shown(value)}") from None
        if number < minimum or (maximum is not None and number > maximum):
            if what:
                raise _Invalid(f"{what}, got {_shown(value)}")
            raise _Invalid(f"must be >= {minimum}, got {number}")
        return number

    return BeforeValidator(parse)


def _number(minimum: float, maximum: float | None = None, what: str = "a number"):
    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            number = float(value)
        except ValueError:
            raise _Invalid(f"must be {what}, got {_shown(str(value))}") from None
        if not (number >= minimum and (maximum is None or number <= maximum)):
            raise _Invalid(f"must be {what}, got {_shown(str(value))}")
        return number

    return BeforeValidator(parse)


def _days(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value == "0":
        return None
    if not value.isdigit():
        raise _Invalid("must be a number of days (or 0/unset: keep forever)")
    return int(value)


def _port(value: Any) -> Any:
    if isinstance(value, str) and not (value.isdigit() and 1 <= int(value) <= 65535):
        raise _Invalid(f"must be a port number, got {_shown(value)}")
    return value


def _flag(accepted: tuple[str, ...], refused: tuple[str, ...]):
    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        raw = value.lower()
        if raw in refused:
            return False
        if raw in accepted:
            return True
        off = ", ".join(word for word in refused if word)
        raise _Invalid(
            f"must be one of {', '.join(accepted)} or unset (off: {off}), got {_shown(raw)}"
        )

    return BeforeValidator(parse)


def _iso_date(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _Invalid(f"must be a date YYYY-MM-DD, got {_shown(value)}") from None
    if day > datetime.now(UTC).date():
        # no hourly partition would exist yet: every scheduled tick would skip, nothing observed
        raise _Invalid(
            f"must not be in the future (UTC): the hourly partitions would not exist yet and "
            f"nothing would be observed, got {_shown(value)}"
        )
    return day


def _cadence(value: Any) -> Any:
    # the grammar is the domain's (domain/cadence.py, stdlib only): imported when checked, so
    # importing settings stays cheap and settings stays the bottom layer at import time
    from ytmetrics_dagster.domain.cadence import parse_cadence

    try:
        parse_cadence(value)
    except ValueError as err:
        raise _Invalid(f"is not a cadence: {str(err)[:200]}") from None
    return value


def _postgres_url(value: Any) -> Any:
    if value is None:
        return None
    scheme = str(value).split("://", 1)[0].split("+", 1)[0] if "://" in str(value) else ""
    if scheme not in ("postgres", "postgresql"):
        # the value is a secret (it may hold the password): not even its scheme is shown
        raise _Invalid(
            "must be a postgresql:// URL (the value is not shown: it may hold a password)"
        )
    from urllib.parse import urlsplit

    try:  # the standard library's parse (SQLAlchemy's is not imported here: settings stay cheap)
        parts = urlsplit(str(value))
        parts.port  # noqa: B018 - raises on a port that is not a number 0..65535
    except ValueError:
        raise _Invalid(
            "is not a valid URL: its host or port cannot be read (the value is not shown: it "
            "may hold a password)"
        ) from None
    return value


def _http_url(value: Any) -> Any:
    if value is None:
        return None
    if not str(value).lower().startswith(("http://", "https://")):
        raise _Invalid(
            "must be an http:// or https:// URL (the value is not shown: it is a secret)"
        )
    return value


_OFF = ("", "0", "false", "no", "off")


def _var(name: str, description: str, *, default_doc: str | None = None, secret: bool = False):
    """The field's environment variable, description and documentation extras."""
    extra: dict[str, Any] = {"secret": secret}
    if default_doc is not None:
        extra["default_doc"] = default_doc
    return {
        "validation_alias": name,
        "description": description,
        "json_schema_extra": extra,
        "repr": not secret,
    }


class Settings(BaseSettings):
    """Every variable ytmetrics reads from the environment. Unset or empty: the default."""

    model_config = SettingsConfigDict(
        case_sensitive=True, frozen=True, extra="forbid", defer_build=True
    )

    def __init__(self, **values: Any) -> None:
        # In code a field goes by its name (Settings(home=...)); the environment by variable.
        # Fields not given are read from the environment, as pydantic-settings does.
        variables = {
            name: field.validation_alias for name, field in type(self).model_fields.items()
        }
        super().__init__(**{variables.get(key, key): value for key, value in values.items()})

    # --- where the data lives ---------------------------------------------------------------
    database_url: Annotated[str | None, BeforeValidator(_postgres_url)] = Field(
        None,
        **_var(
            "YTMETRICS_DATABASE_URL",
            "External Postgres for the warehouse (postgresql://user:password@host:port/db). "
            "Unset: the embedded Postgres under YTMETRICS_HOME.",
            default_doc="unset (embedded Postgres)",
            secret=True,
        ),
    )
    home: Annotated[Path, BeforeValidator(_home)] = Field(
        default_factory=_default_home,
        **_var(
            "YTMETRICS_HOME",
            "Where embedded data lives (Postgres data, Dagster home, logs).",
            default_doc="the one the last `ytmetrics dev` (make run) of this installation "
            "served, recorded in `~/.local/state/ytmetrics/` (`$XDG_STATE_HOME` if set) while that "
            "directory is there (`ytmetrics dev` itself never follows the record); else "
            "`.ytmetrics/` in the project checkout containing the current directory, else "
            "`./.ytmetrics`",
        ),
    )
    dagster_home_env: str | None = Field(
        None,
        **_var(
            "DAGSTER_HOME",
            "Dagster instance home (`make run` writes its dagster.yaml: storage in the same "
            "Postgres via dagster-postgres).",
            default_doc="`$YTMETRICS_HOME/dagster_home`",
        ),
    )
    dagster_pg_url: str | None = Field(
        None,
        **_var(
            "YTMETRICS_DAGSTER_PG_URL",
            "Postgres for Dagster's own storage (runs, events, schedules): read by Dagster "
            "through dagster.yaml (`env: YTMETRICS_DAGSTER_PG_URL`), not by ytmetrics; "
            "`ytmetrics dev` sets it, compose and Helm pass it.",
            default_doc="unset (`ytmetrics dev` sets it)",
            secret=True,
        ),
    )
    partitions_start: Annotated[date | None, BeforeValidator(_iso_date)] = Field(
        None,
        **_var(
            "YTMETRICS_PARTITIONS_START",
            "First day (YYYY-MM-DD) of the hourly and daily partitions (the definitions never "
            "reach the warehouse when they load).",
            default_doc="the deployment's first day, recorded in "
            "`$YTMETRICS_HOME/partitions_start` by `ytmetrics db upgrade` and `ytmetrics dev` "
            "(the warehouse keeps it too); neither: the definitions refuse to load and say what "
            "to run",
        ),
    )

    # --- the source ----------------------------------------------------------------------------
    source: Annotated[Literal["youtube", "simulator"], BeforeValidator(_source)] = Field(
        "youtube",
        **_var(
            "YTMETRICS_SOURCE",
            "Where statistics come from: `youtube` or `simulator`. Never inferred from a "
            "missing key: with `youtube` and no key, API-bound runs fail before any call or "
            "write.",
        ),
    )
    youtube_api_key: str | None = Field(
        None,
        **_var(
            "YOUTUBE_API_KEY",
            "The YouTube Data API v3 key, required with YTMETRICS_SOURCE=youtube (sent as "
            "the `X-Goog-Api-Key` header; never in a URL, log, error, metadata or the ledger).",
            default_doc="unset",
            secret=True,
        ),
    )
    youtube_api_url: str | None = Field(
        None,
        **_var(
            "YTMETRICS_YOUTUBE_API_URL",
            "API base URL. With the simulator, unset means one served in-process on 127.0.0.1.",
            default_doc="unset (`https://www.googleapis.com/youtube/v3`)",
        ),
    )
    use_batch_get_stats: Annotated[bool, _flag(("1", "true"), _OFF)] = Field(
        False,
        **_var(
            "YTMETRICS_USE_BATCH_GET_STATS",
            "`1`: alternate statistics batches between `videos.list` and "
            "`videos:batchGetStats` (1 unit each from separate daily buckets, 10,000 each; at "
            "most 600 `batchGetStats` calls a minute): 1.92x the hourly capacity "
            "(docs/quota-pacing.md).",
        ),
    )

    # --- collection --------------------------------------------------------------------------
    cadence: Annotated[str, BeforeValidator(_cadence)] = Field(
        DEFAULT_CADENCE_SPEC,
        **_var(
            "YTMETRICS_CADENCE",
            "Observation tiers by age 'max_age:interval', youngest first, e.g. "
            "`7d:1h,30d:6h,*:24h`: hourly for a week after publishing, then every 6 h, then "
            "daily.",
        ),
    )
    daily_hour_utc: Annotated[int, _whole(0, 23, "must be an hour 0..23")] = Field(
        12,
        **_var(
            "YTMETRICS_DAILY_HOUR_UTC",
            "UTC hour at which videos on a daily (or N-hourly) interval are observed.",
        ),
    )
    snapshot_minute: Annotated[int, _whole(0, 59, "must be 0..59")] = Field(
        5,
        **_var(
            "YTMETRICS_SNAPSHOT_MINUTE",
            "Minute of each hour at which the hourly snapshot schedule fires.",
        ),
    )
    step_retry_delay_seconds: Annotated[float, _number(0, what="a number of seconds >= 0")] = Field(
        30.0,
        **_var(
            "YTMETRICS_STEP_RETRY_DELAY_SECONDS",
            "First delay of the API-bound steps' retry policy (doubling, 5 retries).",
        ),
    )
    channel_poll_seconds: Annotated[int, _whole(60)] = Field(
        1800,
        **_var(
            "YTMETRICS_CHANNEL_POLL_SECONDS",
            "How often each tracked channel's uploads are polled (>= 60). Each poll costs at "
            "least one playlistItems page (1 unit): every 30 minutes is 48 units a channel a "
            "day, so ten channels fit the default 500-unit discovery reserve.",
        ),
    )
    watchdog: Annotated[bool, _flag(("1", "on", "true", "yes"), ("0", "off", "false", "no"))] = (
        Field(
            True,
            **_var(
                "YTMETRICS_WATCHDOG",
                "`off`: the hour watchdog sensor skips (no re-launch of an unobserved hour).",
                default_doc="on",
            ),
        )
    )
    clock_offset_seconds: Annotated[float, _number(-3600, 0, "a number of seconds -3600..0")] = (
        Field(
            0.0,
            **_var(
                "YTMETRICS_TEST_CLOCK_OFFSET_SECONDS",
                "For tests only: sets back the clock on which the snapshot asset, its checks, "
                "the new-videos sensor, channel statistics, hour accounting, retention and "
                "quota reservations read the time (a deployment under test stands at a chosen "
                "point of an hour instead of waiting for one). Refused unless the statistics "
                "come from the simulator (YTMETRICS_SOURCE=simulator or a "
                "YTMETRICS_YOUTUBE_API_URL on a loopback address): with the real API it would "
                "observe at the wrong time.",
            ),
        )
    )
    terminate_grace_seconds: Annotated[float, _number(0, what="a number of seconds >= 0")] = Field(
        15.0,
        **_var(
            "YTMETRICS_TERMINATE_GRACE_SECONDS",
            "After a run is terminated, how long its worker process has before it is killed.",
        ),
    )

    # --- alerts --------------------------------------------------------------------------------
    alert_webhook_url: Annotated[str | None, BeforeValidator(_http_url)] = Field(
        None,
        **_var(
            "YTMETRICS_ALERT_WEBHOOK_URL",
            "POST alerts here as JSON (a secret, like the key: it may hold a token).",
            default_doc="unset (alerts only in Postgres)",
            secret=True,
        ),
    )
    quota_alert_fraction: Annotated[float, _number(0, 1, "a fraction 0..1")] = Field(
        0.8,
        **_var(
            "YTMETRICS_QUOTA_ALERT_FRACTION",
            "The quota alert fires when the day's used units pass this fraction of the daily "
            "quota (0..1).",
        ),
    )
    viral_multiple: Annotated[float, _number(0, what="a number >= 0")] = Field(
        3.0,
        **_var(
            "YTMETRICS_VIRAL_MULTIPLE",
            "The viral alert fires when a video's views at its age reach this multiple of its "
            "channel's median at the same age.",
        ),
    )

    # --- storage and maintenance ---------------------------------------------------------------
    retention_snapshot_days: Annotated[int | None, BeforeValidator(_days)] = Field(
        None,
        **_var(
            "YTMETRICS_RETENTION_SNAPSHOT_DAYS",
            "Keep raw snapshots of the last N UTC days (0 or unset: forever).",
            default_doc="unset (forever)",
        ),
    )
    retention_derived_days: Annotated[int | None, BeforeValidator(_days)] = Field(
        None,
        **_var(
            "YTMETRICS_RETENTION_DERIVED_DAYS",
            "Keep derived growth rows of the last N UTC days (0 or unset: forever).",
            default_doc="unset (forever)",
        ),
    )
    dagster_run_retention_days: Annotated[int, _whole(0)] = Field(
        90,
        **_var(
            "YTMETRICS_DAGSTER_RUN_RETENTION_DAYS",
            "Finished Dagster runs (and their event logs) older than this are purged daily; "
            "0 keeps everything.",
        ),
    )
    pg_bin: Path | None = Field(
        None,
        **_var(
            "YTMETRICS_PG_BIN",
            "Directory of the pg_dump/pg_restore used by `ytmetrics db backup/restore`.",
            default_doc="embedded: the wheel's own; external: `PATH`",
        ),
    )

    # --- the dashboard and the HTTP API ---------------------------------------------------------
    dashboard_port: Annotated[int, BeforeValidator(_port)] = Field(
        DEFAULT_DASHBOARD_PORT,
        **_var("YTMETRICS_DASHBOARD_PORT", "Port the dashboard (and /api/v1) listens on."),
    )
    dashboard_url: str | None = Field(
        None,
        **_var(
            "YTMETRICS_DASHBOARD_URL",
            "Where people reach the dashboard, for links from Dagster; `off`: no links.",
            default_doc="`http://127.0.0.1:<YTMETRICS_DASHBOARD_PORT>`",
        ),
    )
    api_read_tokens_required: Annotated[
        bool, _flag(("required", "1", "true", "yes"), (*_OFF, "open"))
    ] = Field(
        False,
        **_var(
            "YTMETRICS_API_READ_TOKENS",
            "`required`: reads of the HTTP API need a token too (writes always do).",
            default_doc="open",
        ),
    )
    api_allow_open_reads: Annotated[bool, _flag(("1", "true", "yes"), (*_OFF, "open"))] = Field(
        False,
        **_var(
            "YTMETRICS_API_ALLOW_OPEN_READS",
            "`1`: serve open reads on a non-loopback address (refused at start otherwise).",
        ),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The process environment only: no .env file, no secrets directory.
        return init_settings, env_settings

    @model_validator(mode="before")
    @classmethod
    def _unset_when_empty(cls, data: Any) -> Any:
        # As the shell sees it: surrounding blanks do not count, empty means unset.
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            cleaned[key] = value
        return cleaned

    @model_validator(mode="after")
    def _test_clock_only_against_the_simulator(self) -> "Settings":
        if self.clock_offset_seconds and not (
            self.uses_simulator or _is_loopback_url(self.youtube_api_url)
        ):
            raise _Invalid(
                "YTMETRICS_TEST_CLOCK_OFFSET_SECONDS is for tests: refused unless "
                "YTMETRICS_SOURCE=simulator or YTMETRICS_YOUTUBE_API_URL is on a loopback address"
            )
        return self

    @property
    def dagster_home(self) -> Path:
        return Path(self.dagster_home_env) if self.dagster_home_env else self.home / "dagster_home"

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def uses_simulator(self) -> bool:
        return self.source == "simulator"


def variable_names() -> dict[str, str]:
    """Field name -> environment variable."""
    return {name: field.validation_alias for name, field in Settings.model_fields.items()}


def _is_secret(field_name: str) -> bool:
    extra = Settings.model_fields[field_name].json_schema_extra
    return bool(isinstance(extra, dict) and extra.get("secret"))


def _configuration_error(err: ValidationError) -> ConfigurationError:
    names = variable_names()
    by_variable = {variable: name for name, variable in names.items()}
    problems = []
    for error in err.errors(include_input=False, include_url=False):
        where = str(error["loc"][0]) if error["loc"] else "configuration"
        variable = names.get(where, where)
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _Invalid):
            detail = str(cause)
        elif by_variable.get(variable) and _is_secret(by_variable[variable]):
            detail = "is invalid (the value is not shown: it is a secret)"
        else:
            detail = f"is invalid: {error['msg']}"
        # a rule across variables (a model validator) names its variables itself
        problems.append(f"{variable} {detail}" if error["loc"] else detail)
    return ConfigurationError("; ".join(problems))


@functools.lru_cache(maxsize=16)
def _load(environment: tuple[tuple[str, str | None], ...], cwd: str, recorded: str) -> Settings:
    del environment, cwd, recorded  # the cache key only: the same inputs give the same settings
    try:
        return Settings()
    except ValidationError as err:
        raise _configuration_error(err) from None


_VARIABLES = tuple(variable_names().values())


def load_settings() -> Settings:
    """The settings of this process's environment as it is now (cached per environment, so a
    test that changes a variable gets fresh settings)."""
    try:
        cwd = os.getcwd()  # YTMETRICS_HOME's default depends on it
    except OSError:  # a deleted current directory: YTMETRICS_HOME's default will say so
        cwd = ""
    environment = tuple((name, os.environ.get(name)) for name in _VARIABLES)
    recorded = ""
    if not (os.environ.get("YTMETRICS_HOME") or "").strip():
        # YTMETRICS_HOME's default follows `make run`'s record, which may come and go
        from ytmetrics_dagster.data_dir import recorded_dev_home

        recorded = str(recorded_dev_home() or "")
    return _load(environment, cwd, recorded)


# --- the callers' short ways in (each reads the one object) ------------------------------


def retention_days() -> tuple[int | None, int | None]:
    """(YTMETRICS_RETENTION_SNAPSHOT_DAYS, YTMETRICS_RETENTION_DERIVED_DAYS); None: forever."""
    settings = load_settings()
    return settings.retention_snapshot_days, settings.retention_derived_days


def missing_key_message() -> str:
    try:
        chosen = "source" in load_settings().model_fields_set
    except ConfigurationError:
        chosen = False
    how = "is 'youtube'" if chosen else "is 'youtube' (the default)"
    return (
        f"YTMETRICS_SOURCE {how} but YOUTUBE_API_KEY is not set: nothing was fetched or "
        "written. Set YOUTUBE_API_KEY to collect from YouTube, or YTMETRICS_SOURCE=simulator "
        "for the offline simulator (simulated data)."
    )


def channel_poll_seconds() -> int:
    """YTMETRICS_CHANNEL_POLL_SECONDS: how often each tracked channel's uploads are polled.
    Each poll costs at least one playlistItems page (1 unit): every 30 minutes is 48 units a
    channel a day, so ten channels fit the default 500-unit discovery reserve. A new upload is
    then registered within half an hour and observed within its first hour."""
    return load_settings().channel_poll_seconds


def dagster_run_retention_days() -> int:
    """YTMETRICS_DAGSTER_RUN_RETENTION_DAYS: finished Dagster runs (and their event logs)
    older than this are purged daily. Unset or empty: 90. 0: keep everything (no purge)."""
    return load_settings().dagster_run_retention_days


def pg_bin_dir() -> Path | None:
    """YTMETRICS_PG_BIN: directory of pg_dump/pg_restore to use instead of the embedded
    server's own (embedded) or the ones on PATH (external database)."""
    return load_settings().pg_bin


@dataclass(frozen=True)
class DashboardSettings:
    """The dashboard's port and the URL people reach it at (None: no links)."""

    port: int
    url: str | None


def load_dashboard_settings() -> DashboardSettings:
    settings = load_settings()
    port = settings.dashboard_port
    url = settings.dashboard_url
    if url is None:
        url = f"http://127.0.0.1:{port}"
    elif url.lower() == "off":
        url = None
    return DashboardSettings(port=port, url=url.rstrip("/") if url else None)


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API beside the dashboard (/api/v1). Writes always need a token."""

    read_tokens_required: bool
    allow_open_reads: bool


def load_api_settings() -> ApiSettings:
    settings = load_settings()
    return ApiSettings(
        read_tokens_required=settings.api_read_tokens_required,
        allow_open_reads=settings.api_allow_open_reads,
    )


# --- docs/configuration.md -------------------------------------------------------------------


_TYPE_NAMES = {
    str: "text",
    int: "integer",
    float: "number",
    bool: "flag",
    Path: "path",
    date: "date",
}


def _type_name(field_name: str) -> str:
    annotation = Settings.model_fields[field_name].annotation
    if get_origin(annotation) is Literal:
        return " or ".join(f"`{choice}`" for choice in get_args(annotation))
    kinds = [kind for kind in (get_args(annotation) or (annotation,)) if kind is not type(None)]
    return _TYPE_NAMES.get(kinds[0], str(kinds[0])) if len(kinds) == 1 else str(annotation)


def _default_text(field_name: str) -> str:
    field = Settings.model_fields[field_name]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "default_doc" in extra:
        return str(extra["default_doc"])
    default = field.default
    if isinstance(default, bool):
        return "on" if default else "off"
    return f"`{default}`"


def configuration_markdown() -> str:
    """docs/configuration.md: every variable, from the settings object."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `python -m ytmetrics_dagster.settings > docs/configuration.md`;",
        "     edit ytmetrics_dagster/settings.py, not this file. -->",
        "",
        "Every environment variable ytmetrics reads, from its one reader "
        "(`ytmetrics_dagster/settings.py`). Unset or empty means the default; surrounding "
        "blanks are ignored. A bad value is refused with an error naming the variable; secrets "
        "are never echoed.",
        "",
        "| Variable | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        variable = f"`{field.validation_alias}`"
        if _is_secret(name):
            variable += " (secret)"
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| {variable} | {_type_name(name)} | {_default_text(name)} | {description} |")
    return "\n".join(lines) + "\n"


def dev_home() -> Path:
    """`ytmetrics dev`'s data directory: YTMETRICS_HOME, else the checkout's (never the one an
    earlier `make run` was given: that stays a choice made by that command)."""
    home = (os.environ.get("YTMETRICS_HOME") or "").strip()
    return Path(home).resolve() if home else _checkout_home()


def first_partition_day() -> date | None:
    """The time partitions' first day: YTMETRICS_PARTITIONS_START (YYYY-MM-DD), else the day
    recorded in the data directory when its warehouse was migrated; None if neither."""
    settings = load_settings()
    if settings.partitions_start is not None:
        return settings.partitions_start
    from ytmetrics_dagster.data_dir import recorded_partitions_start

    return recorded_partitions_start(settings.home)


def configured_cadence():
    """The observation cadence (YTMETRICS_CADENCE, YTMETRICS_DAILY_HOUR_UTC), parsed by the
    domain's rule (validated when the settings load)."""
    from ytmetrics_dagster.domain.cadence import parse_cadence

    settings = load_settings()
    return parse_cadence(settings.cadence, settings.daily_hour_utc)


if __name__ == "__main__":
    print(configuration_markdown(), end="")
