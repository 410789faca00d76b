"""Alembic environment: runs on the connection handed over by ``warehouse.migrate``."""

from alembic import context
from sqlalchemy import text

SCHEMA = "ytmetrics"

connection = context.config.attributes["connection"]
connection.execute(text("CREATE SCHEMA IF NOT EXISTS ytmetrics"))
context.configure(
    connection=connection,
    version_table_schema=SCHEMA,
)
with context.begin_transaction():
    context.run_migrations()
