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


def group_of(nodeid: str) -> str | None:
    return DATASET_GROUPS.get(nodeid.split("::", 1)[0].rsplit("/", 1)[-1])


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: unknown to pytest without it
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class DatasetGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or super()._split_scope(nodeid)

    return DatasetGroupScheduling(config, log)
