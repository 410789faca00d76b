import pytest
from hypothesis import given
from hypothesis import strategies as st

from ytmetrics_dagster.youtube.ids import (
    CHANNEL_ID_RE,
    HANDLE_RE,
    VIDEO_ID_RE,
    ChannelRef,
    InvalidVideoInput,
    VideoRef,
    parse_channel,
    parse_reference,
    parse_video_id,
)

pytestmark = pytest.mark.unit

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


CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (CHANNEL, ChannelRef(channel_id=CHANNEL)),
        (f"https://www.youtube.com/channel/{CHANNEL}", ChannelRef(channel_id=CHANNEL)),
        (f"https://www.youtube.com/channel/{CHANNEL}/videos", ChannelRef(channel_id=CHANNEL)),
        ("@googledevelopers", ChannelRef(handle="@googledevelopers")),
        ("https://www.youtube.com/@googledevelopers", ChannelRef(handle="@googledevelopers")),
        ("https://m.youtube.com/@Some.Handle-1/shorts", ChannelRef(handle="@Some.Handle-1")),
        (VID, VideoRef(VID)),
    ],
)
def test_channel_forms(raw, expected):
    assert parse_reference(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "@ab",
        "@" + "a" * 31,
        "@bad handle",
        "UC123",
        "https://www.youtube.com/channel/UCshort",
        "https://evil.example/@handle",
    ],
)
def test_bad_channel_forms_are_rejected(raw):
    with pytest.raises(InvalidVideoInput):
        parse_channel(raw)


def test_a_channel_is_not_a_video_and_vice_versa():
    with pytest.raises(InvalidVideoInput, match="track-channel"):
        parse_video_id(CHANNEL)
    with pytest.raises(InvalidVideoInput, match="ytmetrics register"):
        parse_channel(VID)


HOSTILE = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "\x00",
            "\u202e",
            "%00",
            "https://youtube.com/watch?v=\u0000" * 3,
            "https://[::1/",
            "http://:@/",
        ]
    ),
    st.builds(
        lambda a, b: f"https://www.youtube.com/{a}/{b}", st.text(max_size=30), st.text(max_size=30)
    ),
)


@given(HOSTILE)
def test_hostile_strings_never_crash_the_parser(raw):
    try:
        ref = parse_reference(raw)
    except InvalidVideoInput as err:
        assert "not a YouTube" in str(err)
        return
    if isinstance(ref, VideoRef):
        assert VIDEO_ID_RE.match(ref.video_id)
    else:
        assert CHANNEL_ID_RE.match(ref.channel_id or "") or HANDLE_RE.match(ref.handle or "")
