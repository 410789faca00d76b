"""The markers unit, db and system: every test has exactly one, the closest wins, and -m selects
by it (ytmetrics_dagster_tests/markers.py), checked on small test files run in process."""

import pytest

pytestmark = pytest.mark.unit

INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
markers =
    unit: pure
    db: database
    system: processes
"""
CONFTEST = """
import pytest

from ytmetrics_dagster_tests.markers import pytest_collection_modifyitems  # noqa: F401


@pytest.fixture
def engine():
    return None
"""


@pytest.fixture
def project(pytester):
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    return pytester


def selected(project, expression: str) -> set[str]:
    """The tests `pytest -m expression` runs (all pass)."""
    recorder = project.inline_run("-m", expression)
    passed, skipped, failed = recorder.listoutcomes()
    assert not skipped and not failed
    return {report.nodeid.split("::", 1)[1] for report in passed}


def test_a_test_without_a_marker_fails_the_collection(project):
    project.makepyfile(
        test_one="""
        import pytest

        @pytest.mark.db
        def test_marked():
            pass

        def test_unmarked():
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_one.py::test_unmarked: no marker*"])
    assert "test_marked" not in result.stderr.str()


def test_the_closest_marker_wins_and_minus_m_selects_by_it(project):
    project.makepyfile(
        test_mixed="""
        import pytest

        pytestmark = pytest.mark.db

        def test_in_the_database():
            pass

        @pytest.mark.unit
        def test_pure():
            pass

        @pytest.mark.system
        @pytest.mark.parametrize("n", [1, 2])
        def test_with_processes(n):
            pass

        @pytest.mark.system
        class TestWholeSystem:
            def test_in_a_class(self):
                pass

            @pytest.mark.unit
            def test_pure_in_a_class(self):
                pass
        """
    )
    assert selected(project, "unit or db") == {
        "test_in_the_database",
        "test_pure",
        "TestWholeSystem::test_pure_in_a_class",
    }
    assert selected(project, "system") == {
        "test_with_processes[1]",
        "test_with_processes[2]",
        "TestWholeSystem::test_in_a_class",
    }
    assert selected(project, "unit") == {"test_pure", "TestWholeSystem::test_pure_in_a_class"}


def test_two_kinds_on_one_test_fail_the_collection(project):
    project.makepyfile(
        test_two="""
        import pytest

        @pytest.mark.unit
        @pytest.mark.db
        def test_both():
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_two.py::test_both: marked db and unit on one level*"])


def test_a_unit_test_that_uses_the_database_fails_the_collection(project):
    project.makepyfile(
        test_pure="""
        import pytest

        pytestmark = pytest.mark.unit

        def test_reads_the_warehouse(engine):
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_reads_the_warehouse: marked unit but uses engine*"])
