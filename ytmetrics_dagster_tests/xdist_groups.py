"""Test modules that share one built dataset (datasets.py) run on one test worker under
``make test-fast`` (``-n … --dist loadgroup``), one after the other, so it is built once.

pytest-xdist's own ``xdist_group`` marker does nothing under pytest 9.2: xdist (3.8) tags the
group onto ``item._nodeid``, which pytest 9.2 no longer reads. The scheduler below is
xdist's loadgroup scheduler with the groups named here by module; every other test is a unit of
its own (loadscope's scheduling: one unit at a time, a few in flight per worker; a module fixture
elsewhere is built on each worker its tests reach, as with ``--dist load``)."""

from __future__ import annotations

import pytest

DATASET_GROUPS = {
    "test_dashboard.py": "rich_history",
    "test_results_dashboard.py": "rich_history",
    "test_dashboard_growth.py": "recent_history",
    "test_results_dashboard_growth.py": "recent_history",
}


# The longest single tests (seconds where most take a tenth): sent out right after the groups,
# so the run does not end with one worker busy on one of them and the other idle.
# test_xdist_groups.py checks each still exists.
LONGEST_FIRST = (
    "test_analysis.py::test_a_30_day_single_run_backfill_equals_hour_by_hour",
    "test_unattended.py::test_a_slow_api_gives_up_before_the_hour_closes_and_the_hour_is_recorded",
)


def group_of(nodeid: str) -> str | None:
    return DATASET_GROUPS.get(nodeid.split("::", 1)[0].rsplit("/", 1)[-1])


def _rank(unit: dict[str, bool]) -> int:
    """Groups first (xdist's own order: most tests first), then the longest tests, then the rest
    in collection order."""
    if len(unit) > 1:
        return 0
    return 1 if next(iter(unit)).rsplit("/", 1)[-1] in LONGEST_FIRST else 2


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: unknown to pytest without it
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class DatasetGroupScheduling(LoadGroupScheduling):
        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not self._ordered:  # the queue is complete before the first unit is sent
                self._ordered = True
                units = sorted(self.workqueue.items(), key=lambda item: _rank(item[1]))
                self.workqueue.clear()
                self.workqueue.update(units)
            super()._assign_work_unit(node)

    return DatasetGroupScheduling(config, log)
