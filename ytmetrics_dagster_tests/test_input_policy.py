"""One input policy on every surface: a video id may start with "-" (the CLI does not read it
as an option), and a number is ASCII digits only ("٣" is refused, not read as 3), with the
same sentence from the CLI, the MCP server and the dashboard's query parameters."""

import json

import pytest
from starlette.testclient import TestClient

from ytmetrics_dagster.surfaces.cli import build_parser, main
from ytmetrics_dagster.surfaces.dashboard.app import create_app
from ytmetrics_dagster.surfaces.inputs import TOP_HOURS, whole_number

from .test_mcp import call_tools, error_text, payload

pytestmark = pytest.mark.db

DASH_ID = "-dQw4w9WgXc"  # a well-formed id that starts with a dash
ARABIC_THREE = "٣"  # ARABIC-INDIC DIGIT THREE: int() reads it as 3


@pytest.mark.unit
@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("3", 3),
        ("007", 7),
        ("٣", None),
        ("３", None),  # fullwidth
        ("+3", None),
        ("-3", None),
        (" 3", None),
        ("3 ", None),
        ("1_0", None),
        ("", None),
        ("9" * 19, None),
        ("9" * 18, 10**18 - 1),
    ],
)
def test_a_number_is_ascii_digits_only(raw, number):
    assert whole_number(raw) == number


def test_the_cli_takes_an_id_starting_with_a_dash(engine, capsys):
    assert main(["register", DASH_ID, "--format", "json"]) == 0
    (registration,) = json.loads(capsys.readouterr().out)["registrations"]
    assert (registration["video_id"], registration["outcome"]) == (DASH_ID, "queued")
    # as an option's value and as a positional after options too
    assert main(["requests", "--video", DASH_ID, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1
    assert main(["register", "--wait", "--timeout", "1", DASH_ID]) == 4  # pending, not an error
    assert "already pending" in capsys.readouterr().out
    # an option, and an abbreviation of one, stay options
    args = build_parser().parse_args(["remove", "--delete-me", DASH_ID])
    assert (args.delete_metrics, args.video) == (True, DASH_ID)
    args = build_parser().parse_args(["remove", DASH_ID, "--delete-metrics"])
    assert (args.delete_metrics, args.video) == (True, DASH_ID)


def test_non_ascii_digits_are_refused_by_the_cli(engine, capsys):
    for argv in (["top", "--hours", ARABIC_THREE], ["videos", "--limit", "３"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "must be an integer from" in err and "got '" in err
    assert main(["top", "--hours", "3", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["hours"] == 3


def test_non_ascii_digits_are_refused_by_the_dashboard(engine):
    with TestClient(create_app(engine)) as client:
        for path, says in (
            (f"/api/videos?page={ARABIC_THREE}", "page must be an integer from 1 to"),
            (f"/api/videos?per_page={ARABIC_THREE}", "per_page must be an integer from 1 to"),
            (f"/api/videos/{DASH_ID}?days={ARABIC_THREE}", "days must be an integer from 1 to"),
        ):
            response = client.get(path)
            assert response.status_code == 400, path
            assert says in response.json()["error"]
            assert f"(got '{ARABIC_THREE}')" in response.json()["error"]
        # an id starting with a dash is a video like any other
        response = client.get(f"/api/videos/{DASH_ID}")
        assert response.status_code == 404 and "is not tracked" in response.json()["error"]


@pytest.mark.system
def test_the_same_rule_and_words_in_the_mcp_server(engine, database_url):
    _, (refused, dashed) = call_tools(
        database_url,
        [
            ("top_growing_videos", {"hours": ARABIC_THREE}),
            ("register_video_for_tracking", {"video": DASH_ID}),
        ],
    )
    assert error_text(refused).startswith(f"invalid arguments: {TOP_HOURS.rule} (got '")
    assert (payload(dashed)["video_id"], payload(dashed)["outcome"]) == (DASH_ID, "queued")
