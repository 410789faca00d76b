"""Resources: the YouTube source and the Postgres warehouse, wired from the environment."""

import contextlib
import os
from collections.abc import Iterator

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine

from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.warehouse.engine import check_connection, get_engine, warehouse_url
from ytmetrics_dagster.warehouse.migrate import require_current
from ytmetrics_dagster.warehouse.quota import Budget, QuotaBudgetExceeded, record_calls
from ytmetrics_dagster.youtube.client import YouTubeClient
from ytmetrics_dagster.youtube.errors import YouTubeError
from ytmetrics_dagster.youtube.factory import build_client

# Transient API failures the HTTP layer could not absorb (403 rateLimitExceeded, unreadable
# bodies, 5xx after urllib3's own retries) get a few more tries at step level, spaced out.
youtube_retry_policy = dg.RetryPolicy(
    max_retries=3,
    delay=float(os.environ.get("YTMETRICS_STEP_RETRY_DELAY_SECONDS", "30")),
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse. ``database_url`` unset -> YTMETRICS_DATABASE_URL or embedded."""

    database_url: str | None = None
    _engine: Engine | None = PrivateAttr(default=None)

    def get_engine(self) -> Engine:
        if self._engine is None:
            engine = get_engine(self.database_url or warehouse_url())
            check_connection(engine)
            require_current(engine)
            self._engine = engine
        return self._engine


class YouTubeResource(dg.ConfigurableResource):
    """The YouTube Data API v3. Without an API key it talks to the offline simulator and
    everything it collects is labelled ``source: simulator``."""

    api_key: str | None = None
    base_url: str | None = None
    timeout_seconds: float = 20.0
    max_retries: int = 4
    backoff_factor: float = 0.5
    max_workers: int = 8
    daily_quota_units: int = 10_000
    discovery_reserve_units: int = 500
    # Optional: alternate statistics batches with videos:batchGetStats (its own daily bucket).
    use_batch_get_stats: bool = False
    batch_stats_daily_units: int = 10_000

    @property
    def simulated(self) -> bool:
        return not self.api_key

    @property
    def budget(self) -> Budget:
        return Budget(
            self.daily_quota_units, self.discovery_reserve_units, self.batch_stats_daily_units
        )

    def get_client(self) -> YouTubeClient:
        return build_client(
            self.api_key,
            self.base_url,
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_factor=self.backoff_factor,
            max_workers=self.max_workers,
        )

    @contextlib.contextmanager
    def session(self, engine: Engine, run_id: str | None) -> Iterator[YouTubeClient]:
        """A client whose every call lands in the quota ledger (whatever happens), and whose
        failures become Dagster failures: retryable ones are left to the step RetryPolicy,
        the rest (quota, key, access) fail at once without retries."""
        client = self.get_client()
        try:
            yield client
        except QuotaBudgetExceeded as err:
            raise dg.Failure(description=str(err), allow_retries=False) from None
        except YouTubeError as err:
            if err.retryable:
                raise
            raise dg.Failure(description=str(err), allow_retries=False) from None
        finally:
            record_calls(engine, client.call_log, run_id)
            client.close()


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
    return AlertingResource(
        webhook_url=dg.EnvVar("YTMETRICS_ALERT_WEBHOOK_URL")
        if os.environ.get("YTMETRICS_ALERT_WEBHOOK_URL")
        else None,
        quota_alert_fraction=float(os.environ.get("YTMETRICS_QUOTA_ALERT_FRACTION", "0.8")),
        viral_multiple=float(os.environ.get("YTMETRICS_VIRAL_MULTIPLE", "3")),
    )


def build_resources() -> dict[str, dg.ConfigurableResource]:
    settings = load_settings()
    youtube = YouTubeResource(
        # EnvVar keeps the key's value out of the UI and the run config.
        api_key=dg.EnvVar("YOUTUBE_API_KEY") if settings.youtube_api_key else None,
        base_url=settings.youtube_api_url,
        use_batch_get_stats=os.environ.get("YTMETRICS_USE_BATCH_GET_STATS", "") in ("1", "true"),
    )
    return {"youtube": youtube, "warehouse": WarehouseResource(), "alerting": build_alerting()}


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
