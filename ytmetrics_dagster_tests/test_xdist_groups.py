"""The xdist scheduler's hints (xdist_groups.py) name modules and tests that exist."""

from pathlib import Path

import pytest

from .xdist_groups import DATASET_GROUPS, LONGEST_FIRST, _rank, group_of

pytestmark = pytest.mark.unit

HERE = Path(__file__).parent


def test_every_named_module_and_test_exists():
    for module in DATASET_GROUPS:
        assert (HERE / module).is_file(), module
    for nodeid in LONGEST_FIRST:
        module, name = nodeid.split("::")
        assert f"def {name}(" in (HERE / module).read_text(), nodeid


def test_groups_go_first_then_the_longest_tests_then_the_rest():
    group = {"ytmetrics_dagster_tests/test_dashboard.py::a": False, "x::b": False}
    longest = {f"ytmetrics_dagster_tests/{LONGEST_FIRST[0]}": False}
    other = {"ytmetrics_dagster_tests/test_ids.py::test_x": False}
    assert [_rank(u) for u in (group, longest, other)] == [0, 1, 2]
    assert group_of("ytmetrics_dagster_tests/test_dashboard.py::t") == "rich_history"
    assert group_of("ytmetrics_dagster_tests/test_ids.py::t") is None
