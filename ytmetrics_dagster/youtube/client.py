"""HTTP client for the YouTube Data API v3 (and the simulator, which speaks the same API).

Design rules that come from the API itself:
- ``videos.list`` costs 1 quota unit for up to 50 ids, so ids are always sent 50 at a time.
- ``fields`` trims the payload to what we store.
- Ids that are private, deleted or never existed are silently absent from ``items``; we
  report them as missing rather than guessing.
- The key goes in the ``X-Goog-Api-Key`` header, never in a URL, so it cannot leak through
  exception messages or logs that print URLs.

And from running unattended:
- Every attempt is handed to the call ledger *before* it is sent (the ledger writes it to
  Postgres and commits), so a killed process or a dead database never hides a spent unit: if
  the ledger cannot record the attempt, it is not sent.
- Retries follow urllib3's ``Retry`` policy (429/5xx and connection failures, exponential
  backoff with jitter, Retry-After), driven here one attempt at a time so that each attempt
  is recorded, no attempt starts after the deadline, and after the first hard failure of a
  multi-batch fetch no further attempt of any batch is sent.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from ytmetrics_dagster.youtube.api_limits import (
    BATCH_GET_STATS,
    BATCH_STATS_BUCKET,
    MAX_IDS_PER_CALL,
)
from ytmetrics_dagster.youtube.channel_stats import (
    CHANNEL_STATISTICS_FIELDS,
    ChannelStatistics,
    parse_channel_statistics,
)
from ytmetrics_dagster.youtube.errors import (
    RateLimitedError,
    YouTubeError,
    YouTubeUnavailableError,
    error_from_response,
    redact,
)
from ytmetrics_dagster.youtube.ids import ChannelRef
from ytmetrics_dagster.youtube.models import (
    ApiCall,
    ChannelInfo,
    FetchResult,
    PlaylistVideo,
    VideoDetails,
    VideoStatistics,
)
from ytmetrics_dagster.youtube.parsing import (
    parse_channel,
    parse_playlist_video,
    parse_statistics,
    parse_video_details,
)
from ytmetrics_dagster.youtube.ratelimit import (
    BATCH_GET_STATS_CALLS_PER_MINUTE,
    SlidingWindowLimit,
)

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
SIMULATOR_HEADER = "X-YTMetrics-Simulator"
RETRY_STATUSES = (429, 500, 502, 503, 504)

STATISTICS_FIELDS = "items(id,statistics(viewCount,likeCount,commentCount))"
DETAILS_FIELDS = (
    "items(id,snippet(title,channelId,channelTitle,publishedAt),"
    "contentDetails(duration),statistics(viewCount,likeCount,commentCount))"
)
# One limit for every client of the process (the hourly run's threads share it).
BATCH_STATS_LIMIT = SlidingWindowLimit(BATCH_GET_STATS_CALLS_PER_MINUTE, 60.0)
CHANNEL_FIELDS = "items(id,snippet(title,customUrl),contentDetails(relatedPlaylists(uploads)))"
PLAYLIST_FIELDS = "nextPageToken,items(contentDetails(videoId,videoPublishedAt))"


class CallLedger(Protocol):
    """Where attempts are recorded. ``before_send`` must have durably recorded the attempt
    when it returns (or raise: the attempt is then not sent); ``settle`` adds the outcome."""

    def before_send(self, method: str, bucket: str, source: str) -> object: ...

    def settle(
        self, token: object, http_status: int | None, reason: str | None, source: str
    ) -> None: ...


class MemoryLedger:
    """Keeps attempts in memory only: for callers that record them themselves."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self._lock = threading.Lock()

    def before_send(self, method: str, bucket: str, source: str) -> int:
        with self._lock:
            self.calls.append(ApiCall(datetime.now(UTC), method, 1, None, None, source, bucket))
            return len(self.calls) - 1

    def settle(
        self, token: object, http_status: int | None, reason: str | None, source: str
    ) -> None:
        with self._lock:
            call = self.calls[int(token)]  # type: ignore[call-overload]
            self.calls[int(token)] = ApiCall(  # type: ignore[call-overload]
                call.called_at, call.method, 1, http_status, reason, source, call.bucket
            )


class DeadlineExceededError(YouTubeUnavailableError):
    """The work's deadline passed before the API answered; nothing more is sent."""

    retryable = False


class WaitTooLongError(RateLimitedError):
    """The API asked us to wait (Retry-After) longer than this attempt may wait holding the
    API slot, or than is left before its deadline: the attempt gives up at once (and frees
    the slot) instead of sleeping; the hour's fate is recorded by the caller."""

    retryable = False


class FetchCancelledError(YouTubeError):
    """Another batch of the same fetch failed; this one was not sent."""


def _causes(err: BaseException) -> list[BaseException]:
    """``err`` and what it wraps (requests wraps urllib3, which wraps the socket's error)."""
    seen: list[BaseException] = []
    todo = [err]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
    return seen


def describe_unreachable(
    err: BaseException, url: str, timeout: tuple[float, float] | None = None
) -> str:
    """A failed connection in words, naming host and port only (never the path or query):
    "connection refused by 127.0.0.1:8080", "no answer from host:443 within 10 s"."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    where = f"{host}:{port}"
    connect, read = timeout or (None, None)
    causes = _causes(err)

    def has(*kinds) -> bool:
        return any(isinstance(c, kinds) for c in causes)

    if has(ConnectionRefusedError):
        return f"connection refused by {where}"
    if has(NameResolutionError, socket.gaierror):
        return f"the host name {host!r} could not be resolved"
    if has(requests.exceptions.SSLError, ssl.SSLError):
        return f"the TLS handshake with {where} failed"
    if has(requests.exceptions.ConnectTimeout, ConnectTimeoutError):
        within = f" within {connect:g} s" if connect else ""
        return f"no connection to {where}{within}"
    if has(requests.exceptions.ReadTimeout, ReadTimeoutError, TimeoutError):
        within = f" within {read:g} s" if read else ""
        return f"no answer from {where}{within}"
    if has(ConnectionResetError, ProtocolError, http.client.RemoteDisconnected):
        return f"the connection to {where} was dropped before an answer"
    if has(OSError) and not has(requests.RequestException):
        errno_name = next((c.strerror for c in causes if getattr(c, "strerror", None)), None)
        return f"cannot connect to {where}" + (f" ({errno_name})" if errno_name else "")
    return f"cannot connect to {where} ({type(err).__name__})"


def chunked(values: Sequence[str], size: int = MAX_IDS_PER_CALL) -> list[list[str]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


class YouTubeClient:
    """A thread-safe client over one pooled ``requests.Session``."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        ledger: CallLedger | None = None,
        source: str = "youtube",
        connect_timeout_seconds: float = 3.05,
        read_timeout_seconds: float = 10.0,
        max_retries: int = 2,
        backoff_factor: float = 0.5,
        backoff_max_seconds: float = 20.0,
        max_workers: int = 8,
        deadline: float | None = None,
        batch_stats_limit: SlidingWindowLimit | None = None,
        max_wait_seconds: float | None = None,
        guard: Callable[[], None] | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        # videos:batchGetStats calls a minute (ratelimit.py), shared by the process's clients
        self.batch_stats_limit = batch_stats_limit or BATCH_STATS_LIMIT
        self._api_key = api_key
        self.ledger: CallLedger = ledger or MemoryLedger()
        # what the rows are labelled until a response says otherwise (the simulator marks its
        # responses, so data fetched from it is labelled simulated whatever the mode)
        self.source_hint = source
        self.source_seen: str | None = None
        self.timeout = (connect_timeout_seconds, read_timeout_seconds)
        self.max_workers = max(1, max_workers)
        # time.monotonic() after which no attempt is started
        self.deadline = deadline
        # the longest Retry-After this client sleeps through (None: up to the deadline)
        self.max_wait_seconds = max_wait_seconds
        # called before every attempt; raises to stop (e.g. the run was terminated)
        self.guard = guard
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.attempts = 0
        self._retry = Retry(
            total=max_retries,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_factor,
            backoff_max=backoff_max_seconds,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        # retries are driven by get(); the adapter itself never retries
        adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=self.max_workers)
        self._session = requests.Session()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["Accept"] = "application/json"
        if api_key:
            self._session.headers["X-Goog-Api-Key"] = api_key

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> YouTubeClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def calls(self) -> int:
        """Attempts sent (each is charged by the quota)."""
        with self._lock:
            return self.attempts

    @property
    def call_log(self) -> list[ApiCall]:
        """The attempts, when the ledger keeps them in memory."""
        return list(getattr(self.ledger, "calls", []))

    def stop(self) -> None:
        """No further attempt is sent by any thread of this client."""
        self._stop.set()

    # -- transport -----------------------------------------------------------------------

    def _seconds_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _may_send(self, method: str) -> tuple[float, float]:
        if self._stop.is_set():
            raise FetchCancelledError(f"YouTube API {method}: not sent, the fetch was stopped")
        if self.guard is not None:
            self.guard()
        left = self._seconds_left()
        if left is not None and left < 1.0:
            raise DeadlineExceededError(
                f"YouTube API {method}: the deadline passed before an answer came; gave up"
            )
        connect, read = self.timeout
        return (connect, read) if left is None else (min(connect, left), min(read, left))

    def _wait_for_rate_limit(self, method: str) -> None:
        def sleep(seconds: float) -> bool:
            left = self._seconds_left()
            if left is not None and seconds > left - 1.0:
                raise DeadlineExceededError(
                    f"YouTube API {method}: its per-minute limit would pass the deadline; gave up"
                )
            return self._stop.wait(seconds)

        try:
            self.batch_stats_limit.acquire(sleep)
        except InterruptedError:
            raise FetchCancelledError(
                f"YouTube API {method}: not sent, the fetch was stopped"
            ) from None

    def _send(self, method: str, url: str, params: dict, bucket: str):
        if method == BATCH_GET_STATS:
            self._wait_for_rate_limit(method)
        timeout = self._may_send(method)
        token = self.ledger.before_send(method, bucket, self.source_seen or self.source_hint)
        with self._lock:
            self.attempts += 1
        try:
            response = self._session.get(url, params=params, timeout=timeout)
        except requests.RequestException as err:
            self.ledger.settle(
                token, None, type(err).__name__, self.source_seen or self.source_hint
            )
            return None, err
        self.source_seen = "simulator" if response.headers.get(SIMULATOR_HEADER) else "youtube"
        return (response, token), None

    def _back_off(self, retry: Retry, response=None) -> None:
        delay = retry.get_backoff_time()
        if response is not None:
            asked = retry.get_retry_after(response)
            limit = self.max_wait_seconds
            if asked is not None and limit is not None and asked > limit:
                self.stop()
                raise WaitTooLongError(
                    f"YouTube API answered 429 with Retry-After {asked:.0f} s, more than the "
                    f"{limit:.0f} s an attempt waits while holding the API slot; gave up at once",
                    status=429,
                    reason="rateLimitExceeded",
                )
            delay = asked or delay
        left = self._seconds_left()
        if left is not None and delay > left - 1.0:
            self.stop()
            raise DeadlineExceededError(
                f"YouTube API: waiting {delay:.0f} s (Retry-After or backoff) would pass the "
                f"attempt's deadline ({left:.0f} s left); gave up at once"
            )
        if self._stop.wait(delay):
            raise FetchCancelledError("YouTube API: not retried, the fetch was stopped")

    def get(self, method: str, params: dict[str, str]) -> dict:
        """One API call (with retries). Raises a ``YouTubeError`` subclass on any failure."""
        url = f"{self.base_url}/{method}"
        bucket = BATCH_STATS_BUCKET if method == BATCH_GET_STATS else "default"
        retry = self._retry
        while True:
            sent, err = self._send(method, url, params, bucket)
            if err is not None:
                try:
                    retry = retry.increment("GET", url, error=err)
                except MaxRetryError:
                    what = redact(describe_unreachable(err, url, self.timeout), self._api_key)
                    tries = len(retry.history) + 1
                    raise YouTubeUnavailableError(
                        f"YouTube API unreachable: {what} "
                        f"({method}, {tries} attempt{'s' if tries != 1 else ''})"
                    ) from None
                self._back_off(retry)
                continue
            response, token = sent
            source = self.source_seen or self.source_hint
            if response.status_code != 200:
                error = error_from_response(response.status_code, response.text, self._api_key)
                self.ledger.settle(token, response.status_code, error.reason, source)
                if retry.is_retry("GET", response.status_code, "Retry-After" in response.headers):
                    try:
                        retry = retry.increment("GET", url, response=response.raw)
                    except MaxRetryError:
                        raise error from None
                    self._back_off(retry, response.raw)
                    continue
                raise error
            self.ledger.settle(token, 200, None, source)
            try:
                payload = json.loads(response.content)
                if not isinstance(payload, dict):
                    raise ValueError("not an object")
            except ValueError:
                raise YouTubeUnavailableError(
                    f"YouTube API {method} returned an unreadable body "
                    f"({len(response.content)} bytes, HTTP {response.status_code})"
                ) from None
            return payload

    def _videos_batch(
        self, ids: list[str], part: str, fields: str | None, extra: dict, method: str = "videos"
    ) -> list[dict]:
        params = {"part": part, "id": ",".join(ids), **extra}
        if method == "videos":
            params["maxResults"] = str(MAX_IDS_PER_CALL)
        if fields:
            params["fields"] = fields
        payload = self.get(method, params)
        items = payload.get("items", [])
        if not isinstance(items, list):
            raise YouTubeUnavailableError(f"YouTube API {method} returned a malformed items list")
        return items

    def _fetch(
        self,
        ids: Iterable[str],
        part: str,
        fields: str,
        parse,
        as_of: datetime | None,
        methods: Sequence[str] = ("videos",),
    ) -> FetchResult:
        """Fetch ``ids`` 50 a call, ``max_workers`` calls at a time; batch i goes to
        ``methods[i % len(methods)]``. The first failure stops the rest: no further attempt
        of any batch is sent (a spent quota or a dead API must not be hammered)."""
        unique = list(dict.fromkeys(ids))
        extra = {"asOf": as_of.isoformat()} if as_of is not None else {}
        batches = chunked(unique)

        def call(index: int) -> list[dict]:
            method = methods[index % len(methods)]
            try:
                return self._videos_batch(
                    batches[index], part, fields if method == "videos" else None, extra, method
                )
            except BaseException:
                self.stop()
                raise

        if len(batches) <= 1 or self.max_workers == 1:
            pages = [call(i) for i in range(len(batches))]
        else:
            pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(batches)))
            try:
                futures = [pool.submit(call, i) for i in range(len(batches))]
                wait(futures, return_when=FIRST_EXCEPTION)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            errors = [
                f.exception() for f in futures if not f.cancelled() and f.exception() is not None
            ]
            if errors:
                # the failure that stopped the others, not the cancellations it caused
                real = [e for e in errors if not isinstance(e, FetchCancelledError)]
                raise (real or errors)[0]
            pages = [f.result() for f in futures]
        found = {}
        for page in pages:
            for item in page:
                try:
                    parsed = parse(item)
                except (KeyError, ValueError, TypeError) as err:
                    raise YouTubeUnavailableError(
                        f"YouTube API returned a malformed video item: {err}"
                    ) from None
                found[parsed.video_id] = parsed
        wanted = set(unique)
        items = [found[v] for v in unique if v in found]
        extra_ids = set(found) - wanted
        if extra_ids:
            raise YouTubeError(
                f"YouTube API returned ids that were not asked for: {sorted(extra_ids)[:5]}"
            )
        return FetchResult(
            items=items,
            missing=[v for v in unique if v not in found],
            api_calls=len(batches),
            source=self.source_seen or self.source_hint,
        )

    # -- API -----------------------------------------------------------------------------

    def video_statistics(
        self,
        video_ids: Iterable[str],
        *,
        as_of: datetime | None = None,
        use_batch_get_stats: bool = False,
        methods: Sequence[str] | None = None,
    ) -> FetchResult:
        """Current statistics of the given videos, 50 ids per call, concurrently.

        ``use_batch_get_stats`` alternates batches between ``videos.list`` and
        ``videos:batchGetStats`` (1 unit each, from separate daily buckets), doubling what a
        day's quota can observe. ``as_of`` is understood only by the simulator (the real API
        reports only *now*). ``methods``: the method of each batch, in order (quota pacing
        decides how many batches each bucket pays for), instead of alternating.
        """
        if methods is None:
            methods = ("videos", BATCH_GET_STATS) if use_batch_get_stats else ("videos",)
        return self._fetch(
            video_ids, "statistics", STATISTICS_FIELDS, parse_statistics, as_of, methods
        )

    def video_details(
        self, video_ids: Iterable[str], *, as_of: datetime | None = None
    ) -> FetchResult:
        return self._fetch(
            video_ids,
            "snippet,contentDetails,statistics",
            DETAILS_FIELDS,
            parse_video_details,
            as_of,
        )

    def channel(self, ref: ChannelRef) -> ChannelInfo | None:
        """Resolve a channel by id or @handle (``channels.list``, 1 unit); None if unknown."""
        params = {"part": "snippet,contentDetails", "fields": CHANNEL_FIELDS}
        if ref.channel_id:
            params["id"] = ref.channel_id
        else:
            params["forHandle"] = ref.handle or ""
        items = self.get("channels", params).get("items") or []
        try:
            return parse_channel(items[0]) if items else None
        except (KeyError, ValueError, TypeError) as err:
            raise YouTubeUnavailableError(
                f"YouTube API returned a malformed channel: {err}"
            ) from None

    def channel_statistics(
        self, channel_ids: Iterable[str], *, as_of: datetime | None = None
    ) -> tuple[list[ChannelStatistics], list[str]]:
        """Statistics of channels (``channels.list`` part=statistics, 50 ids a call, 1 unit
        each) and the ids YouTube left out. ``as_of``: the simulator only, as for videos."""
        unique = list(dict.fromkeys(channel_ids))
        found: dict[str, ChannelStatistics] = {}
        for batch in chunked(unique):
            params = {
                "part": "statistics",
                "id": ",".join(batch),
                "maxResults": str(MAX_IDS_PER_CALL),
                "fields": CHANNEL_STATISTICS_FIELDS,
            }
            if as_of is not None:
                params["asOf"] = as_of.isoformat()
            for item in self.get("channels", params).get("items") or []:
                try:
                    parsed = parse_channel_statistics(item)
                except (KeyError, ValueError, TypeError) as err:
                    raise YouTubeUnavailableError(
                        f"YouTube API returned malformed channel statistics: {err}"
                    ) from None
                if parsed.channel_id not in batch:
                    raise YouTubeError("YouTube API returned a channel that was not asked for")
                found[parsed.channel_id] = parsed
        return [found[c] for c in unique if c in found], [c for c in unique if c not in found]

    def playlist_page(
        self, playlist_id: str, page_token: str | None = None
    ) -> tuple[list[PlaylistVideo], str | None]:
        """One page (up to 50, newest first for uploads playlists) of ``playlistItems.list``,
        1 unit, and the next page token."""
        params = {
            "part": "contentDetails",
            "playlistId": playlist_id,
            "maxResults": str(MAX_IDS_PER_CALL),
            "fields": PLAYLIST_FIELDS,
        }
        if page_token:
            params["pageToken"] = page_token
        payload = self.get("playlistItems", params)
        try:
            videos = [parse_playlist_video(item) for item in payload.get("items") or []]
        except (KeyError, ValueError, TypeError) as err:
            raise YouTubeUnavailableError(
                f"YouTube API returned a malformed playlist item: {err}"
            ) from None
        return videos, payload.get("nextPageToken")


__all__ = [
    "BATCH_GET_STATS",
    "BATCH_STATS_BUCKET",
    "DEFAULT_BASE_URL",
    "MAX_IDS_PER_CALL",
    "CallLedger",
    "FetchResult",
    "MemoryLedger",
    "VideoDetails",
    "VideoStatistics",
    "YouTubeClient",
    "YouTubeError",
]
