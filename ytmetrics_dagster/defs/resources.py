"""Resources: the YouTube source and the Postgres warehouse, wired from the environment."""

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine

from ytmetrics_dagster.settings import DEFAULT_API_URL, load_settings
from ytmetrics_dagster.warehouse.engine import check_connection, get_engine, warehouse_url
from ytmetrics_dagster.warehouse.migrate import require_current
from ytmetrics_dagster.youtube.client import YouTubeClient
from ytmetrics_dagster.youtube.simulator import shared_simulator_url


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

    @property
    def simulated(self) -> bool:
        return not self.api_key

    def get_client(self) -> YouTubeClient:
        base_url = self.base_url
        if base_url is None:
            base_url = shared_simulator_url() if self.simulated else DEFAULT_API_URL
        return YouTubeClient(
            base_url,
            self.api_key,
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_factor=self.backoff_factor,
            max_workers=self.max_workers,
        )


def build_resources() -> dict[str, dg.ConfigurableResource]:
    settings = load_settings()
    youtube = YouTubeResource(
        # EnvVar keeps the key's value out of the UI and the run config.
        api_key=dg.EnvVar("YOUTUBE_API_KEY") if settings.youtube_api_key else None,
        base_url=settings.youtube_api_url,
    )
    return {"youtube": youtube, "warehouse": WarehouseResource()}


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
