"""Resources: the YouTube source and the Postgres warehouse, wired from the environment."""

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine

from ytmetrics_dagster.domain.pacing import DEFAULT_RESERVE_UNITS
from ytmetrics_dagster.settings import SOURCES, load_settings, missing_key_message
from ytmetrics_dagster.warehouse import health
from ytmetrics_dagster.warehouse.embedded import WarehouseStartError
from ytmetrics_dagster.warehouse.engine import (
    DatabaseUnavailableError,
    check_connection,
    get_engine,
    safe_url,
    warehouse_url,
)
from ytmetrics_dagster.warehouse.migrate import require_current
from ytmetrics_dagster.warehouse.quota import (
    Budget,
    DurableLedger,
    LedgerUnavailableError,
    QuotaBudgetExceeded,
    release,
    reserve,
)
from ytmetrics_dagster.warehouse.sources import SourceMixError, assert_source_allowed
from ytmetrics_dagster.youtube.client import DEFAULT_BASE_URL, YouTubeClient
from ytmetrics_dagster.youtube.errors import YouTubeError
from ytmetrics_dagster.youtube.factory import build_client

# Transient API failures the HTTP layer could not absorb (403 rateLimitExceeded, unreadable
# bodies, 5xx after the client's own retries) get more tries at step level, spaced out
# exponentially (30 s, 60 s, 2 min, 4 min, 8 min). The snapshot asset stops retrying at its
# hour's deadline whatever is left here, so the total stays inside the hour.
youtube_retry_policy = dg.RetryPolicy(
    max_retries=5,
    delay=load_settings().step_retry_delay_seconds,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


class ClockResource(dg.ConfigurableResource):
    """What time it is for the hourly observation: the real UTC clock. Tests shift it
    (``offset_seconds``) to stand at a chosen point of an hour instead of waiting for one;
    a deployment's processes take it from YTMETRICS_TEST_CLOCK_OFFSET_SECONDS (unset: 0)."""

    offset_seconds: float = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse. ``database_url`` unset -> YTMETRICS_DATABASE_URL or embedded."""

    database_url: str | None = None
    _engine: Engine | None = PrivateAttr(default=None)

    def where(self) -> str:
        """The warehouse's address for messages (password hidden; 'embedded' if local)."""
        url = self.database_url or load_settings().database_url
        return safe_url(url) if url else "embedded warehouse"

    def get_engine(self) -> Engine:
        if self._engine is None:
            where = self.where()
            try:
                engine = get_engine(self.database_url or warehouse_url())
                check_connection(engine)
            except (DatabaseUnavailableError, WarehouseStartError) as err:
                # one log line when it goes down, one when it is back (warehouse/health.py)
                health.report_down(where, str(err))
                raise
            require_current(engine)
            health.report_up(where)
            self._engine = engine
        return self._engine


class YouTubeResource(dg.ConfigurableResource):
    """The YouTube Data API v3 (``source='youtube'``, needs ``api_key``), or the offline
    simulator (``source='simulator'``: everything it yields is labelled simulated). The
    source is always explicit: a missing key never falls back to simulated data."""

    source: str = "youtube"
    api_key: str | None = None
    base_url: str | None = None
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 10.0
    max_retries: int = 2
    backoff_factor: float = 0.5
    max_workers: int = 8
    # A Retry-After longer than this is not slept through holding the only API slot: the
    # attempt gives up at once and records the hour's fate (the watchdog may try again).
    max_retry_wait_seconds: float = 60.0
    daily_quota_units: int = 10_000
    discovery_reserve_units: int = 500
    # Optional: alternate statistics batches with videos:batchGetStats (its own daily bucket).
    use_batch_get_stats: bool = False
    batch_stats_daily_units: int = 10_000
    # Quota pacing (docs/quota-pacing.md): units each paced hourly run leaves for the retries
    # and registrations of its hour.
    pacing_reserve_units: int = DEFAULT_RESERVE_UNITS

    @property
    def simulated(self) -> bool:
        return self.source == "simulator"

    @property
    def expected_label(self) -> str | None:
        """The source the collected rows will be labelled with, when known before calling:
        the simulator's answers are always labelled simulated (the simulator marks them, also
        under YTMETRICS_SOURCE=youtube with its URL, the tests' real-API mode); YouTube's own
        endpoint's answers are real."""
        if self.source == "simulator":
            return "simulator"
        if self.url is None or self.url.rstrip("/") == DEFAULT_BASE_URL:
            return "youtube"
        return None

    @property
    def key(self) -> str | None:
        """The API key: the configured one, else the environment's. A run config that sets
        only some fields (e.g. a budget) builds the resource with api_key at its default, and
        must not lose the deployment's key for it."""
        return self.api_key or load_settings().youtube_api_key

    @property
    def url(self) -> str | None:
        """The API's base URL, configured or the environment's (same reason as ``key``)."""
        return self.base_url or load_settings().youtube_api_url

    @property
    def budget(self) -> Budget:
        return Budget(
            self.daily_quota_units, self.discovery_reserve_units, self.batch_stats_daily_units
        )

    def configuration_problem(self) -> str | None:
        """Why this resource cannot call the API, or None."""
        if self.source not in SOURCES:
            return f"YTMETRICS_SOURCE must be one of {', '.join(SOURCES)}, got {self.source!r}"
        if self.source == "youtube" and not self.key:
            return missing_key_message()
        return None

    def check_configured(self) -> None:
        problem = self.configuration_problem()
        if problem:
            raise dg.Failure(description=problem, allow_retries=False)

    def get_client(self, ledger=None, deadline: float | None = None, guard=None) -> YouTubeClient:
        return build_client(
            self.source,
            self.key,
            self.url,
            ledger=ledger,
            connect_timeout_seconds=self.connect_timeout_seconds,
            read_timeout_seconds=self.read_timeout_seconds,
            max_retries=self.max_retries,
            backoff_factor=self.backoff_factor,
            max_workers=self.max_workers,
            deadline=deadline,
            max_wait_seconds=self.max_retry_wait_seconds,
            guard=guard,
        )

    @contextlib.contextmanager
    def session(
        self,
        engine: Engine,
        run_id: str | None,
        *,
        purpose: str,
        units: dict[str, int] | None = None,
        deadline: datetime | None = None,
        discovery: bool = False,
        reserved: dict[str, int] | None = None,
        guard=None,
        now: datetime | None = None,
    ) -> Iterator[YouTubeClient]:
        """A client whose every attempt is in the quota ledger before it is sent, with
        ``units`` per bucket reserved atomically first (none if the budget is short), no
        attempt started after ``deadline``, and failures as Dagster failures: retryable ones
        are left to the step RetryPolicy, the rest (quota, key, access, deadline) fail at once.
        ``reserved``: reservations (bucket -> id) the caller already made (quota pacing); the
        session uses and releases them instead of reserving ``units``. ``now``: the caller's
        clock (ClockResource), against which ``deadline`` is read; default the real one.
        """
        self.check_configured()
        label = self.expected_label
        if label is not None:
            try:
                # data the warehouse would refuse is refused before any call
                with engine.connect() as conn:
                    assert_source_allowed(conn, label)
            except SourceMixError as err:
                raise dg.Failure(description=str(err), allow_retries=False) from None
        now = now or datetime.now(UTC)
        hold_for = (deadline - now) if deadline else timedelta(hours=1)
        reservations: dict[str, int] = dict(reserved or {})
        try:
            for bucket, needed in ({} if reserved is not None else units or {}).items():
                reservation = reserve(
                    engine,
                    self.budget,
                    needed,
                    now,
                    purpose=purpose,
                    run_id=run_id,
                    bucket=bucket,
                    hold_for=max(hold_for, timedelta(minutes=5)),
                    discovery=discovery,
                )
                if reservation is not None:
                    reservations[bucket] = reservation
        except QuotaBudgetExceeded as err:
            release(engine, reservations.values())
            raise dg.Failure(description=str(err), allow_retries=False) from None
        monotonic_deadline = (
            time.monotonic() + (deadline - now).total_seconds() if deadline else None
        )
        client = self.get_client(
            DurableLedger(engine, run_id, reservations), monotonic_deadline, guard
        )
        try:
            yield client
        except (QuotaBudgetExceeded, SourceMixError) as err:
            raise dg.Failure(description=str(err), allow_retries=False) from None
        except LedgerUnavailableError:
            raise  # the warehouse may come back: the step retry policy decides
        except YouTubeError as err:
            if err.retryable:
                raise
            raise dg.Failure(description=str(err), allow_retries=False) from None
        finally:
            client.close()
            release(engine, reservations.values())


@contextlib.contextmanager
def refused_writes_fail_at_once() -> Iterator[None]:
    """A write the warehouse refuses by policy (mixing sources) is not transient: no retry."""
    try:
        yield
    except SourceMixError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from None


class AlertingResource(dg.ConfigurableResource):
    """Where alerts go besides the alerts table. The URL is a secret (EnvVar)."""

    webhook_url: str | None = None
    quota_alert_fraction: float = 0.8
    viral_multiple: float = 3.0
    viral_min_channel_videos: int = 3
    # alert_delivery_sensor: wall-clock budget per tick, one attempt's timeout, attempts
    delivery_time_budget_seconds: float = 10.0
    delivery_timeout_seconds: float = 3.0
    delivery_max_attempts: int = 10


def build_alerting() -> AlertingResource:
    settings = load_settings()
    return AlertingResource(
        # EnvVar keeps the URL's value (it may hold a token) out of the UI and the run config.
        webhook_url=dg.EnvVar("YTMETRICS_ALERT_WEBHOOK_URL")
        if settings.alert_webhook_url
        else None,
        quota_alert_fraction=settings.quota_alert_fraction,
        viral_multiple=settings.viral_multiple,
    )


def build_resources() -> dict[str, dg.ConfigurableResource]:
    settings = load_settings()
    youtube = YouTubeResource(
        source=settings.source,
        # EnvVar keeps the key's value out of the UI and the run config.
        api_key=dg.EnvVar("YOUTUBE_API_KEY") if settings.youtube_api_key else None,
        base_url=settings.youtube_api_url,
        use_batch_get_stats=settings.use_batch_get_stats,
    )
    return {
        "youtube": youtube,
        "warehouse": WarehouseResource(),
        "alerting": build_alerting(),
        "clock": ClockResource(offset_seconds=settings.clock_offset_seconds),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
