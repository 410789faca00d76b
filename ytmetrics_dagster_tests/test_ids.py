import pytest
from hypothesis import given
from hypothesis import strategies as st

from ytmetrics_dagster.youtube.ids import VIDEO_ID_RE, InvalidVideoInput, parse_video_id

VID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "raw",
    [
        VID,
        f"  {VID} ",
        f"https://www.youtube.com/watch?v={VID}",
        f"https://youtube.com/watch?v={VID}&t=42s&list=PL123#frag",
        f"http://m.youtube.com/watch?feature=share&v={VID}",
        f"https://music.youtube.com/watch?v={VID}",
        f"https://youtu.be/{VID}?si=abc",
        f"youtu.be/{VID}",
        f"https://www.youtube.com/shorts/{VID}",
        f"https://www.youtube.com/live/{VID}?feature=share",
        f"https://www.youtube.com/embed/{VID}",
        f"https://www.youtube-nocookie.com/embed/{VID}",
        f"www.youtube.com/watch?v={VID}",
    ],
)
def test_accepts_every_video_form(raw):
    assert parse_video_id(raw) == VID


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "dQw4w9WgXc",  # 10 chars
        "dQw4w9WgXcQQ",  # 12 chars
        "dQw4w9WgX!Q",
        "https://vimeo.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&v=aaaaaaaaaaa",
        "https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw",
        "javascript:alert(1)",
        "ftp://youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/",
        "'; DROP TABLE ytmetrics.videos; --",
    ],
)
def test_rejects_with_a_message_naming_the_input(raw):
    with pytest.raises(InvalidVideoInput) as info:
        parse_video_id(raw)
    assert "not a YouTube video id or URL" in str(info.value)


@given(st.text(max_size=200))
def test_any_text_parses_to_a_valid_id_or_raises_cleanly(raw):
    try:
        vid = parse_video_id(raw)
    except InvalidVideoInput:
        return
    assert VIDEO_ID_RE.match(vid)


@given(st.from_regex(VIDEO_ID_RE, fullmatch=True))
def test_every_well_formed_id_round_trips_through_a_watch_url(vid):
    assert parse_video_id(vid) == vid
    assert parse_video_id(f"https://www.youtube.com/watch?v={vid}") == vid
    assert parse_video_id(f"https://youtu.be/{vid}") == vid
