"""``register_videos``: register videos from the Dagster UI launchpad.

Run config lists ids or URLs in any accepted form; if any is invalid the run fails naming
them and nothing is queued. Queued requests are applied by ``tracked_videos`` (launched by
``registration_requests_sensor``), exactly as from the CLI.
"""

import dagster as dg
from pydantic import Field

from ytmetrics_dagster.defs.resources import WarehouseResource
from ytmetrics_dagster.warehouse.videos import queue_registrations
from ytmetrics_dagster.youtube.ids import parse_video_inputs


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
        raise dg.Failure(
            description="nothing was queued: " + ("; ".join(errors) or "no inputs given"),
            allow_retries=False,
        )
    ids = queue_registrations(warehouse.get_engine(), parsed, requested_by="dagster-ui")
    context.add_output_metadata({"queued": len(ids), "video_ids": ", ".join(v for _, v in parsed)})
    return ids


@dg.job(
    name="register_videos",
    description="Queue videos for tracking from the launchpad (run config: inputs).",
)
def register_videos():
    queue_video_registrations()
