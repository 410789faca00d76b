"""The Dagster catalog is the database's: every table is an asset (or named bookkeeping), every
column is described, and every asset reports the column schema its table really has."""

from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import text

from ytmetrics_dagster.definitions import defs
from ytmetrics_dagster.defs.channels.assets import channel_statistics
from ytmetrics_dagster.defs.growth.analysis import (
    channel_growth_daily,
    video_launch_curves,
    video_milestone_projections,
)
from ytmetrics_dagster.defs.growth.assets import video_growth_daily, video_growth_hourly
from ytmetrics_dagster.defs.operations.catalog import (
    BOOKKEEPING_TABLES,
    EXTERNAL_TABLES,
    warehouse_tables_sensor,
)
from ytmetrics_dagster.defs.registration.assets import tracked_videos
from ytmetrics_dagster.defs.resources import AlertingResource, WarehouseResource
from ytmetrics_dagster.defs.snapshots.assets import video_metric_snapshots
from ytmetrics_dagster.warehouse.videos import queue_registrations

from .helpers import DAY, hour_range, normal_ids

pytestmark = pytest.mark.db


def repository():
    d = defs() if callable(defs) else defs
    return d.get_repository_def()


def asset_tables() -> dict[str, str]:
    """asset key -> table, from the definitions' dagster/table_name."""
    graph = repository().asset_graph
    out = {}
    for key in graph.get_all_asset_keys():
        name = graph.get(key).metadata["dagster/table_name"]
        assert name.startswith("ytmetrics."), key
        out[key.to_user_string()] = name.removeprefix("ytmetrics.")
    return out


def warehouse_tables(engine) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables t"
                    " JOIN pg_class c ON c.relname = t.table_name"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = t.table_schema"
                    " WHERE t.table_schema = 'ytmetrics' AND t.table_type = 'BASE TABLE'"
                    " AND NOT c.relispartition"
                )
            ).scalars()
        )


def table_columns(engine, table: str) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) from information_schema, independently of pg_catalog."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT column_name, data_type, character_maximum_length, is_nullable
                FROM information_schema.columns
                WHERE table_schema = 'ytmetrics' AND table_name = :t
                ORDER BY ordinal_position
                """
            ),
            {"t": table},
        ).all()
    return [
        (
            r.column_name,
            f"{r.data_type}({r.character_maximum_length})"
            if r.character_maximum_length
            else r.data_type,
            r.is_nullable == "YES",
        )
        for r in rows
    ]


def schema_differences(engine, table: str, schema: dg.TableSchema) -> list[str]:
    reported = [(c.name, c.type, c.constraints.nullable) for c in schema.columns]
    actual = table_columns(engine, table)
    problems = [
        f"{table}: reported {r}, table has {a}"
        for r, a in zip(reported, actual, strict=False)
        if r != a
    ]
    if len(reported) != len(actual):
        names = {c[0] for c in reported} ^ {c[0] for c in actual}
        problems.append(f"{table}: columns differ: {sorted(names)}")
    problems += [f"{table}.{c.name}: no description" for c in schema.columns if not c.description]
    return problems


def test_every_table_is_an_asset_or_named_bookkeeping(engine):
    tables = warehouse_tables(engine)
    assets = asset_tables()
    in_assets = set(assets.values())
    assert len(in_assets) == len(assets), "two assets claim one table"
    assert not in_assets & set(BOOKKEEPING_TABLES)
    uncatalogued = tables - in_assets - set(BOOKKEEPING_TABLES)
    assert not uncatalogued, f"tables with no asset and no stated reason: {sorted(uncatalogued)}"
    assert not (set(BOOKKEEPING_TABLES) | in_assets) - tables, "catalog names missing tables"
    assert all(len(reason) > 30 for reason in BOOKKEEPING_TABLES.values())
    # the five tables the catalog used to miss, and the table written as a side effect
    for table in ("alerts", "api_calls", "channels", "registration_requests"):
        assert table in EXTERNAL_TABLES and assets[table] == table
    assert assets["channel_launch_curves"] == "channel_launch_curves"


def test_every_table_view_and_column_is_described(engine):
    with engine.connect() as conn:
        missing = conn.execute(
            text(
                """
                SELECT c.relname || coalesce('.' || a.attname, '') AS what
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'ytmetrics'
                LEFT JOIN pg_attribute a
                    ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
                  AND c.relname <> 'alembic_version'
                  AND (obj_description(c.oid, 'pg_class') IS NULL
                       OR (a.attnum IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL))
                ORDER BY 1
                """
            )
        ).scalars()
        missing = list(missing)
    assert not missing, f"add COMMENT ON for: {missing}"


def test_every_asset_reports_the_schema_its_table_has(engine, resources, database_url):
    ids = normal_ids(2)
    queue_registrations(engine, [(v, v) for v in ids])
    events: dict[str, dg.TableSchema] = {}

    def run(assets, **kwargs):
        result = dg.materialize(assets, resources=resources, **kwargs)
        assert result.success
        for event in result.get_asset_materialization_events():
            m = event.materialization
            events[m.asset_key.to_user_string()] = m.metadata["dagster/column_schema"].schema

    run([tracked_videos])
    first, last = DAY - timedelta(hours=1), DAY + timedelta(hours=2)
    run([video_metric_snapshots], tags=hour_range(first, last))
    run([video_growth_hourly], tags=hour_range(first, last))
    day = {"partition_key": f"{DAY:%Y-%m-%d}"}
    run([video_growth_daily], **day)
    run([channel_growth_daily], **day)
    run([video_launch_curves])
    run([video_milestone_projections])
    run([channel_statistics], partition_key=f"{DAY:%Y-%m-%d-%H:%M}")

    sensor_resources = {
        "warehouse": WarehouseResource(database_url=database_url),
        "alerting": AlertingResource(),
    }
    with dg.build_sensor_context(resources=sensor_resources) as context:
        observed = warehouse_tables_sensor(context)
    for event in observed.asset_events:
        assert isinstance(event, dg.AssetObservation)
        events[event.asset_key.to_user_string()] = event.metadata["dagster/column_schema"].schema
        assert event.metadata["dagster/row_count"].value >= 0

    tables = asset_tables()
    assert set(events) == set(tables), "an asset reported no column schema"
    problems = [
        p for key, table in tables.items() for p in schema_differences(engine, table, events[key])
    ]
    assert not problems, problems


def test_a_schema_that_differs_from_its_table_is_caught(engine):
    actual = table_columns(engine, "videos")
    columns = [
        dg.TableColumn(n, t, description="x", constraints=dg.TableColumnConstraints(nullable=nl))
        for n, t, nl in actual
    ]
    assert schema_differences(engine, "videos", dg.TableSchema(columns=columns)) == []
    dropped = dg.TableSchema(columns=columns[:-1])
    assert schema_differences(engine, "videos", dropped)
    retyped = dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                "text" if c.name == "video_key" else c.type,
                description="x",
                constraints=c.constraints,
            )
            for c in columns
        ]
    )
    assert schema_differences(engine, "videos", retyped)


@pytest.mark.unit
@pytest.mark.parametrize("table", sorted(EXTERNAL_TABLES))
def test_external_tables_are_visible_assets_without_a_materializing_step(table):
    graph = repository().asset_graph
    node = graph.get(dg.AssetKey(table))
    assert node.is_external and node.description
