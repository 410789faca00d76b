"""The YouTube Data API v3 source: id parsing, the HTTP client and an offline simulator."""
