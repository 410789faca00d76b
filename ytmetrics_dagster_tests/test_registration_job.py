"""The launchpad job ``register_videos``: bad input is named briefly, repeats are not queued."""

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.defs.registration.launchpad import register_videos
from ytmetrics_dagster.defs.resources import WarehouseResource

from .helpers import normal_ids

pytestmark = pytest.mark.db


@pytest.fixture
def instance(one_ephemeral_dagster_instance):
    """The tests' shared in-memory instance (a new one costs ~0.3 s a run; conftest)."""
    return one_ephemeral_dagster_instance


def run(database_url: str, inputs: list[str], instance) -> dg.ExecuteInProcessResult:
    return register_videos.execute_in_process(
        instance=instance,
        run_config={"ops": {"queue_video_registrations": {"config": {"inputs": inputs}}}},
        resources={"warehouse": WarehouseResource(database_url=database_url)},
        raise_on_error=False,
    )


def requests(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT video_id, requested_by FROM ytmetrics.registration_requests")
            )
        ]


def test_a_megabyte_of_input_is_not_echoed_in_the_failure(engine, database_url, instance):
    vid = normal_ids(1)[0]
    for inputs in (
        [vid, "x" * 1_000_000],
        [vid, *(["https://vimeo.com/1"] * 20_000)],
    ):
        result = run(database_url, inputs, instance)
        assert not result.success
        message = result.failure_data_for_node("queue_video_registrations").error.message
        assert "nothing was queued" in message
        assert len(message) < 2_000, len(message)
    assert "and 19990 more" in message
    assert requests(engine) == []


def test_repeats_and_pending_videos_are_not_queued_again(engine, database_url, instance):
    a, b = normal_ids(2)
    first = run(database_url, [a, f"https://youtu.be/{a}", b], instance)
    assert first.success
    assert first.output_for_node("queue_video_registrations") == [1, 2]
    again = run(database_url, [a], instance)
    assert again.success and again.output_for_node("queue_video_registrations") == []
    assert sorted(requests(engine)) == sorted([(a, "dagster-ui"), (b, "dagster-ui")])
