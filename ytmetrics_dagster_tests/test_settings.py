"""The settings object is the one reader of the environment: every variable typed, validated,
documented from it; bad values refused naming the variable; secrets never echoed."""

from __future__ import annotations

import ast
import re
import runpy
from datetime import date
from pathlib import Path

import pytest

from ytmetrics_dagster import settings as settings_module
from ytmetrics_dagster.settings import (
    ConfigurationError,
    Settings,
    channel_poll_seconds,
    configuration_markdown,
    dagster_run_retention_days,
    load_api_settings,
    load_dashboard_settings,
    load_settings,
    missing_key_message,
    pg_bin_dir,
    retention_days,
    variable_names,
)

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "ytmetrics_dagster"
VARIABLES = variable_names()

# Copies of the environment handed to a CHILD process (or set for it): not configuration
# reads. (module, enclosing function, the call holding os.environ)
CHILD_ENVIRONMENT = {
    ("runtime/devserver.py", "prepare", "dict(os.environ)"),
    ("warehouse/backup.py", "env", "dict(os.environ)"),
    # pins its data directory for itself and every program supervisord starts
    ("runtime/devserver.py", "run_dev", "os.environ"),
    ("runtime/watchdog.py", "main", "childutils.getRPCInterface(os.environ)"),
    (
        "runtime/launch.py",
        "become",
        "os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)",
    ),
}
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No settings variable set, the current directory outside any checkout, and no data
    directory recorded by a `make run` (another test's may be in the session's state dir)."""
    for variable in VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


# -- the one reader -------------------------------------------------------------------------


def environment_uses(source: str, path: str = "<test>") -> list[tuple[str, str, str]]:
    """Every use of os.environ/os.getenv (and friends) in ``source``: (path, enclosing
    function, the innermost call around it, else the expression itself)."""
    tree = ast.parse(source)
    os_names = {"os"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {alias.asname or "os" for alias in node.names if alias.name == "os"}
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(tree):
        hit = None
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if {alias.name for alias in node.names} & ENVIRONMENT_NAMES:
                hit = node
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            hit = node
        if hit is None:
            continue
        function, call, up = "<module>", None, parents.get(hit)
        while up is not None:
            if call is None and isinstance(up, ast.Call):
                call = up
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef):
                function = up.name
                break
            up = parents.get(up)
        found.append((path, function, ast.get_source_segment(source, call or hit)))
    return found


def test_the_scan_finds_every_way_of_reading_the_environment():
    sources = [
        "import os\nx = os.environ.get('A')",
        "import os\nx = os.environ['A']",
        "import os\ndef f():\n    return os.getenv('A')",
        "import os as system\nx = system.environ",
        "from os import environ\n",
        "from os import getenv as read\n",
        "import os\nx = 'A' in os.environ",
    ]
    for source in sources:
        assert environment_uses(source), source
    assert environment_uses("import os\ndef f():\n    return dict(os.environ)") == [
        ("<test>", "f", "dict(os.environ)")
    ]
    # a psutil process's environ() or a dict named env is not the process environment
    assert not environment_uses("import psutil\nx = psutil.Process().environ()\nenv = {}")


def test_no_module_but_settings_reads_the_environment():
    uses = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative != "settings.py":
            uses += environment_uses(path.read_text(), relative)
    readers = sorted(set(uses) - CHILD_ENVIRONMENT)
    assert readers == [], f"read the environment through ytmetrics_dagster.settings: {readers}"
    # the allow-list holds only what is still there
    assert set(uses) >= CHILD_ENVIRONMENT
    assert environment_uses((PACKAGE / "settings.py").read_text())


def test_every_variable_the_package_names_is_a_setting():
    # ours are YTMETRICS_* and YOUTUBE_API_KEY (DAGSTER_* names belong to Dagster)
    mentioned = set()
    for path in PACKAGE.rglob("*.py"):
        mentioned |= set(re.findall(r"\b(?:YTMETRICS|YOUTUBE)_[A-Z0-9_]+\b", path.read_text()))
    not_configuration = {"YTMETRICS_SUPERVISED_BY"}  # a marker ytmetrics dev sets on children
    assert "YTMETRICS_CADENCE" in mentioned
    assert mentioned - not_configuration - set(VARIABLES.values()) == set()
    # dg.EnvVar (Dagster reads a secret at run time, out of the UI) only for settings too
    for path in PACKAGE.rglob("*.py"):
        for variable in re.findall(r"EnvVar\(\"([A-Z0-9_]+)\"\)", path.read_text()):
            assert variable in VARIABLES.values()


def test_importing_the_settings_is_cheap():
    """The CLI imports settings for --help: nothing heavy at its top level (pydantic only)."""
    tree = ast.parse((PACKAGE / "settings.py").read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported <= {
        "__future__",
        "functools",
        "os",
        "dataclasses",
        "datetime",
        "pathlib",
        "typing",
        "pydantic",
        "pydantic_settings",
    }, imported
    # and nothing from the package itself (settings is the bottom layer)
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))
    assert "ytmetrics_dagster" not in imported


# -- parsing --------------------------------------------------------------------------------


def test_defaults(env, tmp_path):
    s = load_settings()
    assert s.model_fields_set == set()
    assert s.database_url is None and s.youtube_api_key is None and s.youtube_api_url is None
    assert s.home == tmp_path.resolve() / ".ytmetrics"
    assert s.dagster_home == s.home / "dagster_home" and s.embedded_pgdata == s.home / "pgdata"
    assert s.source == "youtube" and not s.uses_simulator
    assert s.partitions_start is None and s.dagster_pg_url is None
    assert (s.cadence, s.daily_hour_utc, s.snapshot_minute) == ("7d:1h,*:24h", 12, 5)
    assert s.step_retry_delay_seconds == 30.0 and s.terminate_grace_seconds == 15.0
    assert s.use_batch_get_stats is False and s.watchdog is True
    assert (s.alert_webhook_url, s.quota_alert_fraction, s.viral_multiple) == (None, 0.8, 3.0)
    assert retention_days() == (None, None)
    assert channel_poll_seconds() == 1800 and dagster_run_retention_days() == 90
    assert pg_bin_dir() is None
    dashboard = load_dashboard_settings()
    assert (dashboard.port, dashboard.url) == (3100, "http://127.0.0.1:3100")
    api = load_api_settings()
    assert (api.read_tokens_required, api.allow_open_reads) == (False, False)


def test_home_defaults_to_the_checkout_from_anywhere_inside_it(env):
    env.chdir(PROJECT / "ytmetrics_dagster" / "domain")
    assert load_settings().home == PROJECT / ".ytmetrics"


AS_GIVEN = "<the raw value>"
VALID = [
    ("YTMETRICS_DATABASE_URL", "postgresql://u:pw@db:5432/x", "database_url", AS_GIVEN),
    ("YTMETRICS_DATABASE_URL", "postgres+psycopg://u@db/x", "database_url", AS_GIVEN),
    ("YTMETRICS_HOME", "data/here", "home", "HOME"),
    ("DAGSTER_HOME", "/srv/dagster", "dagster_home", Path("/srv/dagster")),
    ("YTMETRICS_DAGSTER_PG_URL", "postgresql://u@db/dagster", "dagster_pg_url", AS_GIVEN),
    ("YTMETRICS_PARTITIONS_START", "2026-03-04", "partitions_start", date(2026, 3, 4)),
    ("YTMETRICS_SOURCE", "simulator", "source", AS_GIVEN),
    ("YTMETRICS_SOURCE", " Simulator ", "source", "simulator"),
    ("YTMETRICS_SOURCE", "YOUTUBE", "source", "youtube"),
    ("YOUTUBE_API_KEY", "AIza-key", "youtube_api_key", AS_GIVEN),
    ("YTMETRICS_YOUTUBE_API_URL", "http://127.0.0.1:9/v3", "youtube_api_url", AS_GIVEN),
    ("YTMETRICS_USE_BATCH_GET_STATS", "1", "use_batch_get_stats", True),
    ("YTMETRICS_USE_BATCH_GET_STATS", "true", "use_batch_get_stats", True),
    ("YTMETRICS_USE_BATCH_GET_STATS", "0", "use_batch_get_stats", False),
    ("YTMETRICS_CADENCE", "7d:1h,30d:6h,*:24h", "cadence", AS_GIVEN),
    ("YTMETRICS_DAILY_HOUR_UTC", "0", "daily_hour_utc", 0),
    ("YTMETRICS_DAILY_HOUR_UTC", "23", "daily_hour_utc", 23),
    ("YTMETRICS_SNAPSHOT_MINUTE", "0", "snapshot_minute", 0),
    ("YTMETRICS_SNAPSHOT_MINUTE", "59", "snapshot_minute", 59),
    ("YTMETRICS_STEP_RETRY_DELAY_SECONDS", "0.2", "step_retry_delay_seconds", 0.2),
    ("YTMETRICS_CHANNEL_POLL_SECONDS", "60", "channel_poll_seconds", 60),
    ("YTMETRICS_WATCHDOG", "off", "watchdog", False),
    ("YTMETRICS_WATCHDOG", "0", "watchdog", False),
    ("YTMETRICS_WATCHDOG", "No", "watchdog", False),
    ("YTMETRICS_WATCHDOG", "on", "watchdog", True),
    # a non-zero test clock only against the simulator: test_the_test_clock_is_refused_…
    ("YTMETRICS_TEST_CLOCK_OFFSET_SECONDS", "0", "clock_offset_seconds", 0.0),
    ("YTMETRICS_TERMINATE_GRACE_SECONDS", "0.5", "terminate_grace_seconds", 0.5),
    ("YTMETRICS_ALERT_WEBHOOK_URL", "https://hooks.example/T0K3N", "alert_webhook_url", AS_GIVEN),
    ("YTMETRICS_QUOTA_ALERT_FRACTION", "0.5", "quota_alert_fraction", 0.5),
    ("YTMETRICS_VIRAL_MULTIPLE", "2.5", "viral_multiple", 2.5),
    ("YTMETRICS_RETENTION_SNAPSHOT_DAYS", "30", "retention_snapshot_days", 30),
    ("YTMETRICS_RETENTION_SNAPSHOT_DAYS", "0", "retention_snapshot_days", None),
    ("YTMETRICS_RETENTION_DERIVED_DAYS", "400", "retention_derived_days", 400),
    ("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", "0", "dagster_run_retention_days", 0),
    (
        "YTMETRICS_PG_BIN",
        "/usr/lib/postgresql/18/bin",
        "pg_bin",
        Path("/usr/lib/postgresql/18/bin"),
    ),
    ("YTMETRICS_DASHBOARD_PORT", "65535", "dashboard_port", 65535),
    ("YTMETRICS_DASHBOARD_URL", "https://dash.example/", "dashboard_url", AS_GIVEN),
    ("YTMETRICS_API_READ_TOKENS", "required", "api_read_tokens_required", True),
    ("YTMETRICS_API_READ_TOKENS", "open", "api_read_tokens_required", False),
    ("YTMETRICS_API_ALLOW_OPEN_READS", "yes", "api_allow_open_reads", True),
]


@pytest.mark.parametrize(("variable", "raw", "attribute", "expected"), VALID)
def test_valid_values(env, tmp_path, variable, raw, attribute, expected):
    env.setenv(variable, raw)
    value = getattr(load_settings(), attribute)
    if expected == "HOME":
        expected = (tmp_path / raw).resolve()
    assert value == (raw if expected == AS_GIVEN else expected)


def test_every_variable_has_a_valid_case():
    assert {case[0] for case in VALID} == set(VARIABLES.values())


@pytest.mark.parametrize("variable", sorted(VARIABLES.values()))
def test_empty_or_blank_means_unset(env, variable):
    defaults = load_settings()
    for blank in ("", "   "):
        env.setenv(variable, blank)
        assert load_settings() == defaults


def test_names_are_case_sensitive(env):
    env.setenv("ytmetrics_source", "nonsense")
    env.setenv("source", "nonsense")
    assert load_settings().source == "youtube"


INVALID = [
    ("YTMETRICS_SOURCE", "simulated-please", "must be one of youtube, simulator, got 'simulated"),
    ("YTMETRICS_PARTITIONS_START", "2026-13-01", "must be a date YYYY-MM-DD, got '2026-13-01'"),
    ("YTMETRICS_PARTITIONS_START", "yesterday", "must be a date YYYY-MM-DD"),
    ("YTMETRICS_PARTITIONS_START", "2999-01-01", "must not be in the future (UTC)"),
    (
        "YTMETRICS_DATABASE_URL",
        "postgresql://bob:pw@localhost:abc/db",
        "is not a valid URL: its host or port cannot be read",
    ),
    (
        "YTMETRICS_DATABASE_URL",
        "postgresql://bob:pw@[::1/db",
        "is not a valid URL: its host or port cannot be read",
    ),
    ("YTMETRICS_USE_BATCH_GET_STATS", "maybe", "must be one of 1, true or unset"),
    ("YTMETRICS_CADENCE", "7d:1h", "is not a cadence: the last cadence tier must be '*:<N>h'"),
    ("YTMETRICS_CADENCE", "*:5h", "is not a cadence: cadence interval must divide 24 hours"),
    ("YTMETRICS_CADENCE", "weekly", "is not a cadence: invalid cadence tier 'weekly'"),
    ("YTMETRICS_DAILY_HOUR_UTC", "24", "must be an hour 0..23, got '24'"),
    ("YTMETRICS_DAILY_HOUR_UTC", "noon", "must be an hour 0..23"),
    ("YTMETRICS_SNAPSHOT_MINUTE", "60", "must be 0..59, got '60'"),
    ("YTMETRICS_SNAPSHOT_MINUTE", "-1", "must be 0..59"),
    ("YTMETRICS_STEP_RETRY_DELAY_SECONDS", "-1", "must be a number of seconds >= 0"),
    ("YTMETRICS_STEP_RETRY_DELAY_SECONDS", "soon", "must be a number of seconds >= 0"),
    ("YTMETRICS_CHANNEL_POLL_SECONDS", "59", "must be >= 60, got 59"),
    ("YTMETRICS_CHANNEL_POLL_SECONDS", "half-hour", "must be a whole number, got 'half-hour'"),
    ("YTMETRICS_WATCHDOG", "sometimes", "must be one of 1, on, true, yes or unset"),
    ("YTMETRICS_TEST_CLOCK_OFFSET_SECONDS", "-3601", "must be a number of seconds -3600..0"),
    ("YTMETRICS_TEST_CLOCK_OFFSET_SECONDS", "60", "must be a number of seconds -3600..0"),
    ("YTMETRICS_TERMINATE_GRACE_SECONDS", "nan", "must be a number of seconds >= 0"),
    ("YTMETRICS_QUOTA_ALERT_FRACTION", "80%", "must be a fraction 0..1"),
    ("YTMETRICS_QUOTA_ALERT_FRACTION", "1.5", "must be a fraction 0..1"),
    ("YTMETRICS_VIRAL_MULTIPLE", "-3", "must be a number >= 0"),
    ("YTMETRICS_RETENTION_SNAPSHOT_DAYS", "-1", "must be a number of days"),
    ("YTMETRICS_RETENTION_DERIVED_DAYS", "1.5", "must be a number of days"),
    ("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", "-1", "must be >= 0, got -1"),
    ("YTMETRICS_DAGSTER_RUN_RETENTION_DAYS", "ninety", "must be a whole number"),
    ("YTMETRICS_DASHBOARD_PORT", "0", "must be a port number, got '0'"),
    ("YTMETRICS_DASHBOARD_PORT", "65536", "must be a port number"),
    ("YTMETRICS_API_READ_TOKENS", "sometimes", "must be one of required, 1, true, yes or unset"),
    ("YTMETRICS_API_ALLOW_OPEN_READS", "please", "must be one of 1, true, yes or unset"),
]


@pytest.mark.parametrize(("variable", "raw", "message"), INVALID)
def test_invalid_values_are_refused_naming_the_variable(env, variable, raw, message):
    env.setenv(variable, raw)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value).startswith(f"{variable} {message}")
    # one line, ours: not pydantic's multi-line report with its URL
    assert "\n" not in str(refused.value) and "pydantic" not in str(refused.value)
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("source", "url", "accepted"),
    [
        ("simulator", None, True),
        ("youtube", "http://127.0.0.1:8123/youtube/v3", True),
        ("youtube", "http://[::1]:8123/youtube/v3", True),
        ("youtube", "http://localhost:8123/youtube/v3", True),
        ("youtube", None, False),  # the real API
        ("youtube", "https://www.googleapis.com/youtube/v3", False),
        ("youtube", "http://203.0.113.7/youtube/v3", False),
    ],
)
def test_the_test_clock_is_refused_with_the_real_api(env, source, url, accepted):
    env.setenv("YTMETRICS_SOURCE", source)
    if url:
        env.setenv("YTMETRICS_YOUTUBE_API_URL", url)
    env.setenv("YTMETRICS_TEST_CLOCK_OFFSET_SECONDS", "-1800")
    if accepted:
        assert load_settings().clock_offset_seconds == -1800.0
    else:
        with pytest.raises(ConfigurationError) as refused:
            load_settings()
        assert str(refused.value).startswith(
            "YTMETRICS_TEST_CLOCK_OFFSET_SECONDS is for tests: refused unless"
        )
        assert "\n" not in str(refused.value) and "pydantic" not in str(refused.value)
    env.setenv("YTMETRICS_TEST_CLOCK_OFFSET_SECONDS", "0")  # unset or 0: no test clock, no rule
    assert load_settings().clock_offset_seconds == 0.0


SECRET = "s3cr3t-T0K3N-do-not-show"
SECRETS = [
    ("YTMETRICS_DATABASE_URL", f"mysql://user:{SECRET}@db/x"),
    ("YTMETRICS_DATABASE_URL", f"user:{SECRET}@db/x"),
    ("YTMETRICS_ALERT_WEBHOOK_URL", f"ftp://hooks.example/{SECRET}"),
    ("YTMETRICS_ALERT_WEBHOOK_URL", SECRET),
]


@pytest.mark.parametrize(("variable", "raw"), SECRETS)
def test_a_refused_secret_is_never_echoed(env, variable, raw):
    env.setenv(variable, raw)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    error = refused.value
    assert str(error).startswith(f"{variable} must be")
    assert "not shown" in str(error)
    shown = str(error) + repr(error) + repr(error.args)
    assert SECRET not in shown and "mysql" not in shown
    # nothing chained that a traceback would print
    assert error.__cause__ is None and error.__suppress_context__


def test_secrets_stay_out_of_other_errors_and_the_repr(env):
    env.setenv("YOUTUBE_API_KEY", SECRET)
    env.setenv("YTMETRICS_DATABASE_URL", f"postgresql://u:{SECRET}@db/x")
    env.setenv("YTMETRICS_ALERT_WEBHOOK_URL", f"https://hooks.example/{SECRET}")
    env.setenv("YTMETRICS_DAGSTER_PG_URL", f"postgresql://u:{SECRET}@db/dagster")
    settings = load_settings()
    assert settings.youtube_api_key == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    env.setenv("YTMETRICS_DASHBOARD_PORT", "many")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value) == "YTMETRICS_DASHBOARD_PORT must be a port number, got 'many'"


def test_every_secret_is_marked():
    secrets = {VARIABLES[name] for name in VARIABLES if settings_module._is_secret(name)}
    assert secrets == {
        "YOUTUBE_API_KEY",
        "YTMETRICS_DATABASE_URL",
        "YTMETRICS_DAGSTER_PG_URL",
        "YTMETRICS_ALERT_WEBHOOK_URL",
    }


def test_several_problems_are_reported_together(env):
    env.setenv("YTMETRICS_SNAPSHOT_MINUTE", "99")
    env.setenv("YTMETRICS_SOURCE", "tv")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert "YTMETRICS_SNAPSHOT_MINUTE must be 0..59" in str(refused.value)
    assert "YTMETRICS_SOURCE must be one of" in str(refused.value)


# -- the callers' short ways in ---------------------------------------------------------------


def test_the_dashboard_url(env):
    env.setenv("YTMETRICS_DASHBOARD_PORT", "3200")
    assert load_dashboard_settings().url == "http://127.0.0.1:3200"
    env.setenv("YTMETRICS_DASHBOARD_URL", "https://dash.example/")
    assert load_dashboard_settings().url == "https://dash.example"
    env.setenv("YTMETRICS_DASHBOARD_URL", "OFF")
    assert load_dashboard_settings().url is None


def test_the_missing_key_message_says_whether_youtube_was_chosen(env):
    assert (
        "YTMETRICS_SOURCE is 'youtube' (the default) but YOUTUBE_API_KEY" in missing_key_message()
    )
    env.setenv("YTMETRICS_SOURCE", "youtube")
    assert "YTMETRICS_SOURCE is 'youtube' but YOUTUBE_API_KEY" in missing_key_message()


def test_settings_follow_the_environment_between_calls(env):
    first = load_settings()
    assert load_settings() is first  # the same environment: the same (cached) object
    env.setenv("YTMETRICS_CHANNEL_POLL_SECONDS", "600")
    assert channel_poll_seconds() == 600
    env.delenv("YTMETRICS_CHANNEL_POLL_SECONDS")
    assert channel_poll_seconds() == 1800


def test_settings_are_frozen_and_built_in_code_by_field_name(env, tmp_path):
    built = Settings(database_url="postgresql://u@db/x", home=tmp_path)
    assert built.database_url == "postgresql://u@db/x" and built.home == tmp_path
    with pytest.raises(ValueError):
        Settings(no_such_setting=1)
    with pytest.raises(ValueError):
        built.source = "simulator"


# -- docs/configuration.md ----------------------------------------------------------------------


def test_the_configuration_doc_is_generated_from_the_settings():
    committed = (PROJECT / "docs" / "configuration.md").read_text()
    assert committed == configuration_markdown(), (
        "regenerate: python -m ytmetrics_dagster.settings > docs/configuration.md"
    )
    for variable in VARIABLES.values():
        assert f"| `{variable}`" in committed
    for name, field in Settings.model_fields.items():
        assert field.description, name


@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
def test_the_module_prints_the_doc(capsys):
    runpy.run_module("ytmetrics_dagster.settings", run_name="__main__")
    assert capsys.readouterr().out == configuration_markdown()
