"""The Postgres warehouse (schema ``ytmetrics``): connection, migrations, writes, read queries.

No Dagster imports here: the CLI, notebooks and MCP tools use this layer directly.
"""

SCHEMA = "ytmetrics"
