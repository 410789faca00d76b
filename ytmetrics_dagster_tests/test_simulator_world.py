"""The simulated world keeps what it computed (profiles, each channel's uploads, the uploads
index): what it keeps is what it would compute again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ytmetrics_dagster.youtube.simulator import world
from ytmetrics_dagster.youtube.simulator.world import (
    CHANNEL_COUNT,
    WORLD_SPAN,
    WORLD_START,
    SimulatedWorld,
    make_id,
    upload_id,
    upload_interval_hours,
    upload_time,
)

pytestmark = pytest.mark.unit


def test_the_uploads_index_holds_every_upload_published_in_the_worlds_span_in_order():
    index = world._uploads_index()
    end = WORLD_START + WORLD_SPAN
    for ch in range(CHANNEL_COUNT):
        ids = index.ids[ch]
        count = len(ids)
        # as many as the channel's rhythm fits in the span, to the upload
        assert abs(count - WORLD_SPAN.total_seconds() / 3600 / upload_interval_hours(ch)) < 2
        assert upload_time(ch, count - 1) < end <= upload_time(ch, count)
        for n in (0, 1, count // 2, count - 1):
            assert ids[n] == upload_id(ch, n)
            assert index.by_id[ids[n]] == (ch, n)
    assert len(index.by_id) == sum(map(len, index.ids))


def test_kept_profiles_and_uploads_are_the_ones_computed_afresh():
    sim = SimulatedWorld()
    ids = [make_id(f"kept:{n}") for n in range(30)] + [upload_id(5, n) for n in range(3)]
    for vid in ids:
        assert sim.profile(vid) == world._compute_profile(vid)
        assert sim.profile(vid) is sim.profile(vid)
        assert sim.profile(vid).published_at == world._compute_profile(vid).published_at
    assert sim.profile(upload_id(5, 2)).published_at == upload_time(5, 2)
    # a listing, before, inside and past the end of the world's span (uploads beyond the
    # index are computed like any id)
    for ch in (0, 17):
        for at in (
            WORLD_START + timedelta(hours=30),
            WORLD_START + timedelta(days=900, hours=5),
            WORLD_START + WORLD_SPAN + timedelta(days=20),
        ):
            n = int((at - WORLD_START).total_seconds() / 3600 / upload_interval_hours(ch)) + 1
            afresh = [world._compute_profile(upload_id(ch, k)) for k in range(n, -1, -1)]
            assert sim.uploads(ch, at) == [p for p in afresh if p.is_visible(at)]
