"""What one API call may carry and which daily quota bucket pays for it: facts of the YouTube
Data API that the quota ledger and `ytmetrics quota` need without the HTTP client (which
loads requests, urllib3 and ssl)."""

from __future__ import annotations

# videos.list (and batchGetStats) take up to 50 ids a call, at 1 unit a call.
MAX_IDS_PER_CALL = 50
# videos:batchGetStats (documented 2026-06-03): up to 50 ids, 1 unit from its own daily bucket.
BATCH_GET_STATS = "videos:batchGetStats"
BATCH_STATS_BUCKET = "batchGetStats"
