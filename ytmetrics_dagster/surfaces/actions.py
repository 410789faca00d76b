"""The writes a user asks for, one definition each, whichever surface asks (the CLI, the HTTP
API): they change the warehouse exactly as ``ytmetrics`` does. Tracked videos and snapshots
are written only by Dagster; these queue requests for it, or change what the user owns (a
video's removal, a channel's tracking, an alert's acknowledgement)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from ytmetrics_dagster.services.discovery import TrackResult, UnknownChannelOnYouTube, track_channel
from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.surfaces.inputs import UserInputError
from ytmetrics_dagster.warehouse.channels import untrack_channel
from ytmetrics_dagster.warehouse.quota import Budget, DurableLedger
from ytmetrics_dagster.youtube.factory import MissingApiKeyError, build_client
from ytmetrics_dagster.youtube.ids import ChannelRef, InvalidVideoInput, parse_channel


def channel_ref(raw: str) -> ChannelRef:
    try:
        return parse_channel(raw)
    except InvalidVideoInput as err:
        raise UserInputError(str(err)) from None


def _simulated_warehouse_hint(engine: Engine) -> str:
    """In a second terminal next to `make run`, the variable `make run` set is not set."""
    from ytmetrics_dagster.warehouse.sources import holds_source

    with engine.connect() as conn:
        if holds_source(conn, "simulator"):
            return (
                " This warehouse holds simulated data (`make run`'s demo): run the command with "
                "YTMETRICS_SOURCE=simulator, as `make run` does."
            )
    return ""


def track(engine: Engine, raw: str, *, existing: int | None, requested_by: str) -> TrackResult:
    """Resolve the channel on YouTube (its calls in the quota ledger), store it, and queue its
    latest ``existing`` uploads (None = all) as registration requests."""
    ref = channel_ref(raw)
    settings = load_settings()
    try:
        client = build_client(
            settings.source,
            settings.youtube_api_key,
            settings.youtube_api_url,
            ledger=DurableLedger(engine, run_id=f"{requested_by}:track-channel"),
        )
    except MissingApiKeyError as err:
        raise UserInputError(str(err) + _simulated_warehouse_hint(engine)) from None
    try:
        return track_channel(engine, client, ref, budget=Budget(), existing=existing)
    except UnknownChannelOnYouTube as err:
        raise UserInputError(str(err)) from None
    finally:
        client.close()


def untrack(engine: Engine, raw: str) -> str:
    """Stop polling the channel (its videos stay tracked); its id."""
    return untrack_channel(engine, channel_ref(raw).label, datetime.now(UTC))
