"""Pooled connections checked before use, for engines we do not create ourselves.

Our own engines (warehouse/engine.py) set ``pool_pre_ping``. Dagster's Postgres storage builds
its engines from ``postgres_url`` alone; in the webserver it keeps a pool without checking it,
so after a Postgres restart the first launch from the UI failed on a dead pooled connection.
SQLAlchemy loads a ``CreateEnginePlugin`` named in the URL (``?plugin=ytmetrics_pre_ping``,
registered as an entry point in pyproject.toml) and removes the parameter before connecting;
this one turns ``pool_pre_ping`` on. ``dagster_storage_url`` adds it to the storage URL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.engine import CreateEnginePlugin

PLUGIN = "ytmetrics_pre_ping"


class PrePingPlugin(CreateEnginePlugin):
    def __init__(self, url, kwargs):
        super().__init__(url, kwargs)
        kwargs["pool_pre_ping"] = True

    def update_url(self, url):
        return url  # SQLAlchemy has removed ``plugin`` already; nothing else to consume


def with_pre_ping(url: str) -> str:
    """``url`` with the plugin named in its query (once)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not (k == "plugin" and v == PLUGIN)]
    query.append(("plugin", PLUGIN))
    return urlunsplit((*parts[:3], urlencode(query), parts.fragment))
