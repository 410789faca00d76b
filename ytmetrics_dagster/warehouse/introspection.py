"""What the database says about its own tables: columns, types, nullability, comments.

The Dagster catalog is built from this at materialization time, so it cannot drift from the
schema the migrations created (column meanings are ``COMMENT ON COLUMN``, migration 0010).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

SCHEMA = "ytmetrics"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    comment: str | None


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # 'table' | 'partitioned table' | 'view'
    comment: str | None
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]


_TABLES_SQL = """
SELECT c.relname AS name,
       CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' ELSE 'table' END
           AS kind,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
  AND (CAST(:name AS text) IS NULL OR c.relname = CAST(:name AS text))
ORDER BY c.relname
"""

_COLUMNS_SQL = """
SELECT c.relname AS table_name, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable,
       col_description(c.oid, a.attnum) AS comment,
       coalesce(a.attnum = ANY(pk.conkey), false) AS in_pk,
       array_position(pk.conkey, a.attnum) AS pk_position
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
  AND (CAST(:name AS text) IS NULL OR c.relname = CAST(:name AS text))
ORDER BY c.relname, a.attnum
"""


def describe(engine: Engine, name: str | None = None) -> dict[str, Table]:
    """Tables and views of the ytmetrics schema (partitions excluded: a partitioned table is
    described once), or only ``name``."""
    params = {"schema": SCHEMA, "name": name}
    with engine.connect() as conn:
        heads = conn.execute(text(_TABLES_SQL), params).all()
        cols = conn.execute(text(_COLUMNS_SQL), params).all()
    by_table: dict[str, list] = {}
    for c in cols:
        by_table.setdefault(c.table_name, []).append(c)
    tables = {}
    for h in heads:
        rows = by_table.get(h.name, [])
        pk = tuple(
            r.name for r in sorted((r for r in rows if r.in_pk), key=lambda r: r.pk_position)
        )
        tables[h.name] = Table(
            name=h.name,
            kind=h.kind,
            comment=h.comment,
            columns=tuple(Column(r.name, r.type, bool(r.nullable), r.comment) for r in rows),
            primary_key=pk,
        )
    return tables


def describe_table(engine: Engine, name: str) -> Table:
    found = describe(engine, name)
    if name not in found:
        raise LookupError(f"no table or view {SCHEMA}.{name}; is the warehouse migrated?")
    return found[name]


def row_count(engine: Engine, name: str) -> int:
    """Exact row count of a table of the schema (named from the catalog, never from input)."""
    table = describe_table(engine, name)
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM " + f'{SCHEMA}."{table.name}"')  # noqa: S608
            ).scalar_one()
        )
