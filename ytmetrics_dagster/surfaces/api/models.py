"""The HTTP API's own models (the error body). The results are
``ytmetrics_dagster.surfaces.results``' models, the same on every surface; request bodies live
beside their routes in ``app.py``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Error(BaseModel):
    """Every error: what went wrong, in the words the CLI uses; ``status`` is the HTTP status."""

    model_config = ConfigDict(extra="forbid")
    error: str
    status: int
