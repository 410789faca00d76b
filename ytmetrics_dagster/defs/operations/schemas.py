"""Catalog metadata of the warehouse tables, read from the database itself.

Definitions carry only the table's name (``dagster/table_name``): loading them never touches
the database. Each materialization (or observation, for tables written outside runs) reports
``dagster/column_schema`` from ``pg_catalog`` as the table is at that moment, with the column
comments as descriptions, so the catalog cannot drift from the migrations.
"""

import dagster as dg
from sqlalchemy import Engine

from ytmetrics_dagster.warehouse.introspection import SCHEMA, describe_table

TABLE_NAME = "dagster/table_name"
COLUMN_SCHEMA = "dagster/column_schema"


def table_name(table: str) -> dict:
    """Static metadata of an asset stored in ``ytmetrics.<table>``."""
    return {TABLE_NAME: f"{SCHEMA}.{table}"}


def table_schema(engine: Engine, table: str) -> dg.TableSchema:
    described = describe_table(engine, table)
    constraints = (
        dg.TableConstraints(other=[f"primary key ({', '.join(described.primary_key)})"])
        if described.primary_key
        else None
    )
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type,
                description=c.comment,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in described.columns
        ],
        constraints=constraints,
    )


def table_metadata(engine: Engine, table: str) -> dict:
    """Runtime metadata: the table's name and its column schema as the database has it."""
    return {**table_name(table), COLUMN_SCHEMA: table_schema(engine, table)}
