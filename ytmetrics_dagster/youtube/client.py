"""HTTP client for the YouTube Data API v3 (and the simulator, which speaks the same API).

Design rules that come from the API itself:
- ``videos.list`` costs 1 quota unit for up to 50 ids, so ids are always sent 50 at a time.
- ``fields`` trims the payload to what we store.
- Ids that are private, deleted or never existed are silently absent from ``items``; we
  report them as missing rather than guessing.
- The key goes in the ``X-Goog-Api-Key`` header, never in a URL, so it cannot leak through
  exception messages or logs that print URLs.
- Transient failures (429, 5xx, dropped connections) are retried by urllib3's ``Retry`` with
  exponential backoff and jitter; quota and key errors are not retried.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ytmetrics_dagster.youtube.errors import (
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

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
MAX_IDS_PER_CALL = 50
SIMULATOR_HEADER = "X-YTMetrics-Simulator"

STATISTICS_FIELDS = "items(id,statistics(viewCount,likeCount,commentCount))"
DETAILS_FIELDS = (
    "items(id,snippet(title,channelId,channelTitle,publishedAt),"
    "contentDetails(duration),statistics(viewCount,likeCount,commentCount))"
)
# videos:batchGetStats (documented 2026-06-03): up to 50 ids, 1 unit from its own daily bucket.
BATCH_GET_STATS = "videos:batchGetStats"
BATCH_STATS_BUCKET = "batchGetStats"
CHANNEL_FIELDS = "items(id,snippet(title,customUrl),contentDetails(relatedPlaylists(uploads)))"
PLAYLIST_FIELDS = "nextPageToken,items(contentDetails(videoId,videoPublishedAt))"


def chunked(values: Sequence[str], size: int = MAX_IDS_PER_CALL) -> list[list[str]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


class YouTubeClient:
    """A thread-safe client over one pooled ``requests.Session``."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        *,
        timeout_seconds: float = 20.0,
        max_retries: int = 4,
        backoff_factor: float = 0.5,
        max_workers: int = 8,
    ):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout_seconds = timeout_seconds
        self.max_workers = max(1, max_workers)
        self._max_retries = max_retries
        self._lock = threading.Lock()
        self.call_log: list[ApiCall] = []
        self.source_seen: str | None = None

        retry = Retry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_factor,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=self.max_workers)
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

    # -- transport -----------------------------------------------------------------------

    def _log(self, method: str, units: int, status: int | None, reason: str | None) -> None:
        call = ApiCall(
            datetime.now(UTC),
            method,
            units,
            status,
            reason,
            self.source_seen or "youtube",
            bucket=BATCH_STATS_BUCKET if method == BATCH_GET_STATS else "default",
        )
        with self._lock:
            self.call_log.append(call)

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.call_log)

    def get(self, method: str, params: dict[str, str]) -> dict:
        """One API call. Raises a ``YouTubeError`` subclass on any failure."""
        url = f"{self.base_url}/{method}"
        try:
            response = self._session.get(url, params=params, timeout=self.timeout_seconds)
        except requests.RequestException as err:
            # Retries were exhausted; charge every attempt. str(err) may name the URL (never
            # the key: it is a header), but scrub anyway.
            self._log(method, self._max_retries + 1, None, type(err).__name__)
            raise YouTubeUnavailableError(
                f"YouTube API {method} request failed after retries: "
                + redact(f"{type(err).__name__}: {err}", self._api_key)[:300]
            ) from None
        retries = getattr(response.raw, "retries", None)
        attempts = 1 + len(getattr(retries, "history", ()) or ())
        self.source_seen = "simulator" if response.headers.get(SIMULATOR_HEADER) else "youtube"
        if response.status_code != 200:
            error = error_from_response(response.status_code, response.text, self._api_key)
            self._log(method, attempts, response.status_code, error.reason)
            raise error
        self._log(method, attempts, 200, None)
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
        ``methods[i % len(methods)]``. The first failure stops the rest: batches not yet sent
        are cancelled (a spent quota must not be hammered)."""
        unique = list(dict.fromkeys(ids))
        extra = {"asOf": as_of.isoformat()} if as_of is not None else {}
        batches = chunked(unique)

        def call(index: int) -> list[dict]:
            method = methods[index % len(methods)]
            return self._videos_batch(
                batches[index], part, fields if method == "videos" else None, extra, method
            )

        if len(batches) <= 1 or self.max_workers == 1:
            pages = [call(i) for i in range(len(batches))]
        else:
            pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(batches)))
            try:
                futures = [pool.submit(call, i) for i in range(len(batches))]
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = [f for f in done if f.exception() is not None]
                if failed:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise failed[0].exception()
                pages = [f.result() for f in futures]
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
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
            source=self.source_seen or "youtube",
        )

    # -- API -----------------------------------------------------------------------------

    def video_statistics(
        self,
        video_ids: Iterable[str],
        *,
        as_of: datetime | None = None,
        use_batch_get_stats: bool = False,
    ) -> FetchResult:
        """Current statistics of the given videos, 50 ids per call, concurrently.

        ``use_batch_get_stats`` alternates batches between ``videos.list`` and
        ``videos:batchGetStats`` (1 unit each, from separate daily buckets), doubling what a
        day's quota can observe. ``as_of`` is understood only by the simulator (the real API
        reports only *now*).
        """
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
    "DEFAULT_BASE_URL",
    "MAX_IDS_PER_CALL",
    "FetchResult",
    "VideoDetails",
    "VideoStatistics",
    "YouTubeClient",
    "YouTubeError",
]
