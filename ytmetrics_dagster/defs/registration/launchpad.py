"""``register_videos``: register videos from the Dagster UI launchpad.

Run config lists ids or URLs in any accepted form; if any is invalid the run fails naming
them (each echoed at most 80 characters, the first 10 of them) and nothing is queued. Already
tracked, already pending and repeated videos are reported, not queued again. Queued requests
are applied by ``tracked_videos`` (launched by ``registration_requests_sensor``), exactly as
from the CLI.
"""

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse.registrations import QUEUED, request_registrations
from ytmetrics_dagster.youtube.ids import parse_video_inputs

# invalid inputs named one by one in the failure; the rest are counted
MAX_LISTED_ERRORS = 10


class RegisterVideosConfig(dg.Config):
    inputs: list[str] = Field(
        description="Video ids or URLs (watch, youtu.be, shorts, live, embed)."
    )


@dg.op(description="Validate every input, then queue them all as pending registrations.")
def queue_video_registrations(
    context: dg.OpExecutionContext, config: RegisterVideosConfig, warehouse: WarehouseResource
) -> list[int]:
    parsed, errors = parse_video_inputs(config.inputs)
    if errors or not parsed:
        listed = "; ".join(errors[:MAX_LISTED_ERRORS]) or "no inputs given"
        more = len(errors) - MAX_LISTED_ERRORS
        raise dg.Failure(
            description=f"nothing was queued: {listed}"
            + (f"; and {more} more" if more > 0 else ""),
            allow_retries=False,
        )
    outcomes = request_registrations(warehouse.get_engine(), parsed, requested_by="dagster-ui")
    queued = [o for o in outcomes if o.outcome == QUEUED]
    for o in outcomes:
        if o.outcome != QUEUED:
            context.log.info(f"{o.video_id}: {o.outcome.replace('_', ' ')}, not queued again")
    context.add_output_metadata(
        {
            "queued": len(queued),
            "not_queued_again": len(outcomes) - len(queued),
            "video_ids": ", ".join(o.video_id for o in queued),
        }
    )
    return [o.request_id for o in queued]


@dg.job(
    name="register_videos",
    description="Queue videos for tracking from the launchpad (run config: inputs).",
)
def register_videos():
    queue_video_registrations()
