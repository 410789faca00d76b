"""Dagster runs per test: a pytest plugin that counts every in-process run (``materialize``,
``execute_in_process``; they all go through ``JobDefinition.execute_in_process``) and prints
the total and the tests with the most at the end of the session. A count, not a timing: the
same on any machine, however loaded.

    PYTHONPATH=benchmarks .venv/bin/pytest -p dagster_runs_plugin -p no:cacheprovider \\
        -m "unit or db" ytmetrics_dagster_tests/test_storage.py

(Without xdist: each worker would count its own.)"""

from __future__ import annotations

import pytest

_runs: dict[str, int] = {}
_current = ["(collection)"]


def pytest_configure(config: pytest.Config) -> None:
    from dagster._core.definitions.job_definition import JobDefinition

    real = JobDefinition.execute_in_process

    def counted(self, *args, **kwargs):
        _runs[_current[0]] = _runs.get(_current[0], 0) + 1
        return real(self, *args, **kwargs)

    JobDefinition.execute_in_process = counted


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    _current[0] = item.nodeid
    yield


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(f"Dagster runs: {sum(_runs.values())} in {len(_runs)} tests")
    for nodeid, n in sorted(_runs.items(), key=lambda kv: -kv[1])[:20]:
        terminalreporter.write_line(f"  {n:4d}  {nodeid}")
