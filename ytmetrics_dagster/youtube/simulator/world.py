"""The simulated world: which videos exist and how their counters grow.

Every property of a video is a pure function of its id (a hash), and every counter is a
pure function of (id, time), so any number of simulator processes agree with each other and
a backfill can ask "as of" any past time. Growth is realistic in shape: fast after publish,
slowing exponentially into a long tail, with a daily rhythm; the counters never decrease.
"""

from __future__ import annotations

import base64
import hashlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from itertools import islice

from ytmetrics_dagster.youtube.models import ChannelInfo, VideoDetails, VideoStatistics

WORLD_START = datetime(2024, 1, 1, tzinfo=UTC)
WORLD_SPAN = timedelta(days=4 * 365)
CHANNEL_COUNT = 24
RHYTHM_AMPLITUDE = 0.3
HOURS_PER_DAY = 24.0
# Everything below is a pure function of its arguments, so this process keeps what it computed
# (a cached answer is the same answer): the profiles of the last PROFILE_CACHE_SIZE ids asked
# for (~0.4 kB each), and every channel's uploads as far as they have been listed.
PROFILE_CACHE_SIZE = 16_384


def _unit(video_id: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{video_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _make_id(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11]


@lru_cache(maxsize=PROFILE_CACHE_SIZE)
def make_id(seed: str) -> str:
    """A well-formed 11-character video id derived from ``seed``."""
    return _make_id(seed)


@cache
def channel_id(index: int) -> str:
    return (
        "UC"
        + base64.urlsafe_b64encode(hashlib.sha256(f"channel:{index}".encode()).digest()).decode()[
            :22
        ]
    )


def channel_handle(index: int) -> str:
    return f"@simchannel{index:02d}"


def channel_title(index: int) -> str:
    return f"Simulated Channel {index:02d}"


def uploads_playlist_id(index: int) -> str:
    return "UU" + channel_id(index)[2:]


def channel_info(index: int) -> ChannelInfo:
    """Simulated channel ``index`` as channels.list describes it (title, handle, uploads
    playlist)."""
    return ChannelInfo(
        channel_id(index), channel_title(index), channel_handle(index), uploads_playlist_id(index)
    )


def upload_interval_hours(index: int) -> float:
    """Each simulated channel publishes on its own rhythm, every 12 to 71 hours."""
    return 12.0 + (index * 7) % 60


def upload_id(index: int, n: int) -> str:
    # not through make_id's cache: the uploads index computes each one once and keeps it
    return _make_id(f"upload:{index}:{n}")


def upload_time(index: int, n: int) -> datetime:
    return _upload_time(index, n, upload_id(index, n))


def _upload_time(index: int, n: int, video_id: str) -> datetime:
    jitter = _unit(video_id, "upload_jitter") * 3.0
    at = WORLD_START + timedelta(hours=n * upload_interval_hours(index) + jitter)
    return at.replace(microsecond=0)


def _upload_count(index: int) -> int:
    """How many uploads channel ``index`` publishes in the world's span: upload n comes
    n * interval + jitter (0-3) hours after its start, so only the last few need their jitter."""
    span_hours = WORLD_SPAN.total_seconds() / 3600.0
    n = max(0, int((span_hours - 3.0) / upload_interval_hours(index)) - 1)
    end = WORLD_START + WORLD_SPAN
    while upload_time(index, n) < end:
        n += 1
    return n


@dataclass(frozen=True)
class _UploadsIndex:
    """Every channel's uploads in the world's span: (channel, n) by id, and each channel's
    ids in upload order."""

    by_id: dict[str, tuple[int, int]]
    ids: tuple[tuple[str, ...], ...]


@cache
def _uploads_index() -> _UploadsIndex:
    ids = tuple(
        tuple(upload_id(ch, n) for n in range(_upload_count(ch))) for ch in range(CHANNEL_COUNT)
    )
    by_id = {vid: (ch, n) for ch, channel in enumerate(ids) for n, vid in enumerate(channel)}
    return _UploadsIndex(by_id, ids)


@dataclass(frozen=True)
class VideoProfile:
    video_id: str
    exists: bool
    published_at: datetime
    gone_at: datetime | None
    ultimate_views: float
    tau_hours: float
    like_ratio: float
    comment_ratio: float
    likes_hidden: bool
    comments_disabled: bool
    channel_index: int
    duration_seconds: int

    @property
    def channel_id(self) -> str:
        return channel_id(self.channel_index)

    @property
    def channel_title(self) -> str:
        return channel_title(self.channel_index)

    @property
    def title(self) -> str:
        return f"[SIMULATED] Video {self.video_id}"

    def is_visible(self, at: datetime) -> bool:
        if not self.exists or at < self.published_at:
            return False
        return self.gone_at is None or at < self.gone_at

    def statistics_at(self, at: datetime) -> VideoStatistics | None:
        if not self.is_visible(at):
            return None
        age_h = (at - self.published_at).total_seconds() / 3600.0
        views = _cumulative_views(self, age_h)
        like_growth = 0.8 + 0.2 * (1.0 - math.exp(-age_h / 48.0))
        likes = int(views * self.like_ratio * like_growth)
        comments = int(views * self.comment_ratio)
        return VideoStatistics(
            video_id=self.video_id,
            view_count=int(views),
            like_count=None if self.likes_hidden else likes,
            comment_count=None if self.comments_disabled else comments,
        )


def _cumulative_views(p: VideoProfile, age_h: float) -> float:
    """Views after ``age_h`` hours: saturating launch, long tail, daily rhythm.

    The rhythm term is the integral of the launch rate modulated by a sine; with amplitude
    0.3 and tau >= 12 h its derivative stays positive, so views never decrease.
    """
    u, tau = p.ultimate_views, p.tau_hours
    launch = u * (1.0 - math.exp(-age_h / tau))
    tail = u * 0.15 * age_h / (HOURS_PER_DAY * 365.0)
    omega = 2.0 * math.pi / HOURS_PER_DAY
    phase = 2.0 * math.pi * (p.channel_index % 24) / 24.0
    rate = (u / tau) * math.exp(-age_h / tau)
    rhythm = RHYTHM_AMPLITUDE * rate / omega * (math.cos(phase) - math.cos(omega * age_h + phase))
    return max(0.0, launch + tail + rhythm)


class SimulatedWorld:
    """Profiles of simulated videos; ``profile`` is a pure function of the id.

    Besides arbitrary ids, each of the CHANNEL_COUNT channels has a deterministic list of
    uploads (ids ``upload_id(channel, n)``), published on the channel's own rhythm, which
    its uploads playlist lists newest first."""

    def channel_index(self, channel: str) -> int | None:
        """The index of a simulated channel named by id or handle, or None."""
        for i in range(CHANNEL_COUNT):
            if channel in (channel_id(i), channel_handle(i), channel_handle(i)[1:]):
                return i
        return None

    def uploads(self, index: int, at: datetime) -> list[VideoProfile]:
        """The channel's public uploads at ``at``, newest first."""
        n = int((at - WORLD_START).total_seconds() / 3600.0 / upload_interval_hours(index)) + 1
        known = _upload_profiles(index, n + 1)
        profiles = [
            known[k] if k < len(known) else self.profile(upload_id(index, k))
            for k in range(n, -1, -1)
        ]
        return [p for p in profiles if p.is_visible(at)]

    def profile(self, video_id: str) -> VideoProfile:
        return _profile(video_id)

    def details(self, video_id: str) -> VideoDetails:
        """What a videos.list snippet would say of the video (to track it without a call)."""
        p = _profile(video_id)
        return VideoDetails(
            video_id, p.title, p.channel_id, p.channel_title, p.published_at, p.duration_seconds
        )

    def iter_ids(self, predicate, *, prefix: str = "sim", scan: int = 200_000) -> Iterator[str]:
        """The ids ``find_ids`` finds, one at a time: the scan goes no further than asked."""
        for n in range(scan):
            vid = make_id(f"{prefix}:{n}")
            if predicate(self.profile(vid)):
                yield vid

    def find_ids(
        self, predicate, *, prefix: str = "sim", limit: int = 1, scan: int = 200_000
    ) -> list[str]:
        """Deterministically find ids whose profile satisfies ``predicate`` (tests, demos)."""
        return list(islice(self.iter_ids(predicate, prefix=prefix, scan=scan), limit))

    def demo_video_ids(self, now: datetime, count: int = 12) -> list[str]:
        """Demo set: mostly videos published in the 48 h before ``now`` (so their launch is
        watched live), plus a few older ones; one with hidden likes, one with comments off."""
        day = now.strftime("%Y-%m-%d")

        def fresh(p: VideoProfile) -> bool:
            age = now - p.published_at
            return p.exists and p.gone_at is None and timedelta(0) < age < timedelta(hours=48)

        def older(p: VideoProfile) -> bool:
            age = now - p.published_at
            return p.exists and p.gone_at is None and timedelta(days=7) < age < timedelta(days=120)

        ids = self.find_ids(
            fresh, prefix=f"demo-fresh:{day}", limit=max(1, count - 4), scan=2_000_000
        )
        ids += self.find_ids(older, prefix=f"demo-older:{day}", limit=2)
        ids += self.find_ids(lambda p: older(p) and p.likes_hidden, prefix=f"demo-hidden:{day}")
        ids += self.find_ids(
            lambda p: older(p) and p.comments_disabled, prefix=f"demo-nocomments:{day}"
        )
        return ids


_upload_profiles_lock = threading.Lock()
_upload_profiles_known: dict[int, list[VideoProfile]] = {}


def _upload_profiles(index: int, count: int) -> list[VideoProfile]:
    """The profiles of channel ``index``'s first ``count`` uploads (fewer past the world's
    span), kept for good: a channel's listing asks for all of them each time."""
    with _upload_profiles_lock:
        known = _upload_profiles_known.setdefault(index, [])
        ids = _uploads_index().ids[index]
        for vid in ids[len(known) : min(count, len(ids))]:
            known.append(_compute_profile(vid))
        return known


@lru_cache(maxsize=PROFILE_CACHE_SIZE)
def _profile(video_id: str) -> VideoProfile:
    return _compute_profile(video_id)


def _compute_profile(video_id: str) -> VideoProfile:
    u = lambda salt: _unit(video_id, salt)  # noqa: E731
    upload = _uploads_index().by_id.get(video_id)
    if upload is not None:
        published = _upload_time(*upload, video_id)
    else:
        published = WORLD_START + timedelta(
            seconds=int(u("published") * WORLD_SPAN.total_seconds())
        )
    gone_at = None
    if u("gone") < 0.05:
        gone_at = published + timedelta(hours=24 + u("gone_after") * 24 * 30)
    # log-uniform ultimate audience between 2k and 20M views
    ultimate = 10 ** (3.3 + u("views") * 4.0)
    return VideoProfile(
        video_id=video_id,
        exists=upload is not None or u("exists") >= 0.04,
        published_at=published,
        gone_at=gone_at,
        ultimate_views=ultimate,
        tau_hours=12.0 + u("tau") * 228.0,
        like_ratio=0.01 + u("likes") * 0.05,
        comment_ratio=0.0005 + u("comments") * 0.004,
        likes_hidden=u("likes_hidden") < 0.08,
        comments_disabled=u("comments_off") < 0.08,
        channel_index=upload[0] if upload is not None else int(u("channel") * CHANNEL_COUNT),
        duration_seconds=30 + int(u("duration") * 3600),
    )
