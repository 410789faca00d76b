"""Every test says what it needs, with exactly one of three markers (registered in
pyproject.toml):

- ``unit``: pure code, no Postgres, no server, no process;
- ``db``: the embedded Postgres, the simulator served by the test process and in-process
  Dagster; no process of its own (``make test-fast`` runs ``unit`` and ``db``);
- ``system``: processes the test starts (daemon, webserver, code server, ``ytmetrics dev``,
  supervisord, servers and the CLI in subprocesses, containers, the browser, the notebook).

A module says it with ``pytestmark``; a test of a module that mixes kinds says its own,
which overrides the module's (the closest marker wins, the others are dropped so that
``-m`` selects by it). A test without one fails the collection, so a new test must choose.
"""

from __future__ import annotations

import pytest

KINDS = ("unit", "db", "system")
# Fixtures that reach the embedded Postgres or a server: a unit test uses none of them.
NOT_UNIT_FIXTURES = frozenset(
    {"pg_server", "database_url", "dagster_pg_url", "engine", "simulator_server", "simulator"}
)


def kind_of(item: pytest.Item) -> str | None:
    """The kind the test is marked with (its own marker over its class's over its module's),
    or None. Several kinds on one level are an error."""
    for node in reversed(item.listchain()):
        kinds = {m.name for m in node.own_markers if m.name in KINDS}
        if len(kinds) > 1:
            raise pytest.UsageError(
                f"{item.nodeid}: marked {' and '.join(sorted(kinds))} on one level; "
                "choose one of unit, db, system"
            )
        if kinds:
            return kinds.pop()
    return None


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    kinds: dict[pytest.Item, str] = {}
    for item in items:
        kind = kind_of(item)
        if kind is None:
            problems.append(f"{item.nodeid}: no marker; mark it unit, db or system")
        elif kind == "unit" and (used := NOT_UNIT_FIXTURES.intersection(item.fixturenames)):
            problems.append(
                f"{item.nodeid}: marked unit but uses {', '.join(sorted(used))}; mark it db"
            )
        else:
            kinds[item] = kind
    if problems:
        raise pytest.UsageError(
            "every test needs exactly one of the markers unit, db, system "
            "(ytmetrics_dagster_tests/markers.py):\n  " + "\n  ".join(problems)
        )
    # The closest marker is the test's kind: drop the kinds of its class and module, which
    # a test of a mixed module overrides, and keep the kind on the test itself.
    for item in items:
        for node in item.listchain()[:-1]:
            node.own_markers[:] = [m for m in node.own_markers if m.name not in KINDS]
    for item, kind in kinds.items():
        item.own_markers[:] = [m for m in item.own_markers if m.name not in KINDS]
        item.add_marker(kind)
