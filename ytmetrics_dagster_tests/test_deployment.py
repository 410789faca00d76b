"""deploy/ checked without a container runtime or a cluster: the Helm values against the chart's
own JSON schema, the instance configs against Dagster's own config schema (with the Docker and
Kubernetes run launchers' schemas), the compose wiring, no secret in any file, and the image
installing and running what the tests run."""

from __future__ import annotations

import copy
import importlib.metadata
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import process_workspace_config
from dagster._serdes.config_class import ConfigurableClassData, class_from_code_pointer
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from ytmetrics_dagster.defs.tags import (
    CURRENT_HOUR_RUN_TAGS,
    HOURLY_MAX_RUNTIME_SECONDS,
    MAX_RUNTIME_TAG,
    PRIORITY_TAG,
    TRACKED_VIDEOS_MAX_RUNTIME_SECONDS,
)
from ytmetrics_dagster.runtime.devserver import DAGSTER_YAML
from ytmetrics_dagster_tests.dagster_processes import (
    BIN,
    DEPLOY,
    ROOT,
    DagsterProcesses,
    compose_entrypoint,
    dockerfile_instructions,
    image_command,
)

pytestmark = pytest.mark.unit

HELM_SCHEMA = Path(__file__).parent / "fixtures" / "helm" / "dagster-values.schema.json"
SHARED_SETTINGS = ("concurrency", "run_monitoring", "run_retries", "retention", "sensors")


def load(path: Path):
    return yaml.safe_load(path.read_text())


def production() -> dict:
    return load(DEPLOY / "dagster.yaml")


def helm_values() -> dict:
    return load(DEPLOY / "helm" / "values.yaml")


# -- Helm -----------------------------------------------------------------------------------


def helm_validator_errors(values: dict) -> list[str]:
    """Errors of an override values file, as Helm would find them once the file is merged
    with the chart's defaults: maps merge (a key the defaults hold is not required of the
    override), lists replace (each item must be complete). Kubernetes sub-schemas are remote
    references, not vendored: they accept anything here."""
    import jsonschema  # here, not at import: it compiles ~40 grammars (~2 s in each test worker)

    schema = json.loads(HELM_SCHEMA.read_text())
    registry = Registry(retrieve=permissive_remote_documents(schema).__getitem__)
    full = jsonschema.Draft7Validator(schema, registry=registry)

    def items_complete(validator, items, instance, _schema):
        if validator.is_type(instance, "array") and isinstance(items, dict):
            for index, item in enumerate(instance):
                for error in full.evolve(schema=items).iter_errors(item):
                    error.path.appendleft(index)
                    yield error

    Override = jsonschema.validators.extend(
        jsonschema.Draft7Validator, {"required": lambda *args: None, "items": items_complete}
    )
    override = Override(schema, registry=registry)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in override.iter_errors(values)
    ]


def permissive_remote_documents(schema: dict) -> dict[str, Resource]:
    """For each remote document the schema refers to, a stand-in in which every referenced
    pointer exists and is the empty schema (no network, no vendored Kubernetes schemas)."""
    documents: dict[str, dict] = {}

    def walk(node) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("http"):
                uri, _, pointer = ref.partition("#")
                target = documents.setdefault(uri, {})
                for part in filter(None, pointer.split("/")):
                    target = target.setdefault(part, {})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return {
        uri: Resource.from_contents(doc, default_specification=DRAFT7)
        for uri, doc in documents.items()
    }


def test_the_vendored_helm_schema_is_the_charts():
    import jsonschema

    schema = json.loads(HELM_SCHEMA.read_text())
    assert schema["title"] == "DagsterHelmValues"
    assert len(HELM_SCHEMA.read_text()) == 100_951  # as recorded in fixtures/helm/PROVENANCE.md
    jsonschema.Draft7Validator.check_schema(schema)


def test_helm_values_validate_against_the_charts_schema():
    values = helm_values()
    assert helm_validator_errors(values) == []
    assert set(values) <= set(json.loads(HELM_SCHEMA.read_text())["properties"])


def test_the_helm_validation_catches_mistakes():
    values = helm_values()
    wrong_key = copy.deepcopy(values)
    wrong_key["dagsterDaemon"]["runMonitor"] = {"enabled": True}
    incomplete_item = copy.deepcopy(values)
    del incomplete_item["dagster-user-deployments"]["deployments"][0]["port"]
    wrong_type = copy.deepcopy(values)
    wrong_type["retention"]["sensor"]["purgeAfterDays"] = {"skipped": "a week"}
    wrong_enum = copy.deepcopy(values)
    wrong_enum["runLauncher"]["type"] = "DockerRunLauncher"
    for broken in (wrong_key, incomplete_item, wrong_type, wrong_enum):
        assert helm_validator_errors(broken)


def test_helm_deploys_this_image_with_kubernetes_runs_and_secrets_from_kubernetes():
    values = helm_values()
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    command = image_command()
    assert command[:3] == ["dagster", "code-server", "start"]
    assert deployment["codeServerArgs"] == without_host_and_port(command[3:])
    assert deployment["port"] == int(command[command.index("-p") + 1])
    assert deployment["env"]["YTMETRICS_SOURCE"] == "youtube"
    assert deployment["envSecrets"] == [{"name": "ytmetrics-secrets"}]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"] == [
        {"name": "ytmetrics-secrets"}
    ]
    assert values["postgresql"]["enabled"] is False
    assert "postgresqlPassword" not in values["postgresql"]
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    # run monitoring and retries come from additionalInstanceConfig only (no duplicate keys)
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is False
    assert values["dagsterDaemon"]["runRetries"]["enabled"] is False


def without_host_and_port(args: list[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-h", "-p", "--host", "--port"):
            skip = True
        else:
            out.append(arg)
    return out


def test_the_kubernetes_instance_config_validates_with_dagsters_schema(tmp_path, monkeypatch):
    """What the chart renders from our values: Postgres storage, K8sRunLauncher, the queue,
    and additionalInstanceConfig verbatim."""
    values = helm_values()
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    config = {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "hostname": values["postgresql"]["postgresqlHost"],
                    "username": values["postgresql"]["postgresqlUsername"],
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "db_name": values["postgresql"]["postgresqlDatabase"],
                    "port": values["postgresql"]["service"]["port"],
                }
            }
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
        },
        "run_launcher": {
            "module": "dagster_k8s",
            "class": "K8sRunLauncher",
            "config": {
                "dagster_home": "/opt/dagster/dagster_home",
                "instance_config_map": "ytmetrics-dagster-instance",
                "service_account_name": "ytmetrics-dagster",
                "load_incluster_config": True,
                "env_secrets": [s["name"] for s in k8s["envSecrets"]],
            },
        },
        **values["additionalInstanceConfig"],
    }
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "not-a-secret")
    validate_instance_config(config, tmp_path)


# -- the production instance and the compose file --------------------------------------------


def validate_instance_config(config: dict, tmp_path: Path) -> dict:
    """Dagster's instance schema, then each configurable class's own config schema."""
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    validated, _ = dagster_instance_config(str(tmp_path))
    for key in ("run_launcher", "run_coordinator"):
        entry = validated[key]
        # as the instance reads it (legacy module names such as dagster.core mapped)
        data = ConfigurableClassData(entry["module"], entry["class"], "{}")
        cls = class_from_code_pointer(data.module_name, data.class_name)
        result = process_config(resolve_to_config_type(cls.config_type()), entry.get("config", {}))
        assert result.success, (key, [e.message for e in result.errors])
    from dagster_postgres import DagsterPostgresStorage

    storage = validated["storage"]["postgres"]
    result = process_config(resolve_to_config_type(DagsterPostgresStorage.config_type()), storage)
    assert result.success, [e.message for e in result.errors]
    return validated


def test_the_production_instance_validates_with_dagsters_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("YTMETRICS_DAGSTER_PG_URL", "postgresql://user@db:5432/dagster")
    validated = validate_instance_config(production(), tmp_path)
    assert validated["run_launcher"]["class"] == "DockerRunLauncher"
    assert validated["run_monitoring"]["enabled"] is True
    assert validated["concurrency"]["pools"]["default_limit"] == 1


def test_an_invalid_instance_config_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("YTMETRICS_DAGSTER_PG_URL", "postgresql://user@db:5432/dagster")
    broken = production()
    broken["run_monitoring"]["free_slots_after_run_end"] = 60
    with pytest.raises(Exception, match="free_slots_after_run_end"):
        validate_instance_config(broken, tmp_path)
    broken = production()
    broken["run_launcher"]["config"]["env_var"] = ["YOUTUBE_API_KEY"]
    with pytest.raises(AssertionError, match="env_var"):
        validate_instance_config(broken, tmp_path)


def env_references(node) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(env_references(v) for v in node)) if node else set()
    return set()


def test_compose_gives_every_process_the_environment_the_instance_needs():
    compose = load(DEPLOY / "docker-compose.yaml")
    instance = production()
    needed = env_references(instance) | set(instance["run_launcher"]["config"]["env_vars"])
    for name in ("user_code", "webserver", "daemon", "migrate"):
        service = compose["services"][name]
        assert needed <= set(service["environment"]), (name, needed - set(service["environment"]))
        assert service["environment"]["YTMETRICS_SOURCE"] == "youtube"
        assert service["image"] == compose["services"]["user_code"]["image"]
    user_code = compose["services"]["user_code"]
    assert user_code["environment"]["DAGSTER_CURRENT_IMAGE"] == user_code["image"]
    assert compose["services"]["migrate"]["command"] == ["ytmetrics", "db", "upgrade"]
    assert user_code["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # every process on the host's network, run containers too: all traffic on 127.0.0.1
    assert instance["run_launcher"]["config"]["network"] == "host"
    for name, service in compose["services"].items():
        assert service["network_mode"] == "host", name
        assert "ports" not in service and "networks" not in service, name
    # the webserver and daemon load the workspace the image holds
    copied = [a for kw, a in dockerfile_instructions() if kw == "COPY" and "workspace.yaml" in a]
    assert copied and copied[0].split()[-1].rstrip("/") == "/opt/dagster/dagster_home"
    for name in ("webserver", "daemon"):
        entrypoint = compose_entrypoint(name)
        assert entrypoint[entrypoint.index("-w") + 1] == "/opt/dagster/dagster_home/workspace.yaml"
    workspace = load(DEPLOY / "workspace.yaml")
    assert process_workspace_config(workspace).success
    (server,) = [entry["grpc_server"] for entry in workspace["load_from"]]
    assert server["host"] == "127.0.0.1"
    assert str(server["port"]) == image_command()[image_command().index("-p") + 1]
    # the code server listens where the workspace looks for it (the image's CMD, on 127.0.0.1)
    served = [str(part) for part in user_code["command"]]
    assert served == [server["host"] if a == "0.0.0.0" else a for a in image_command()]
    # every long-running service comes back by itself; the one-shot migration does not
    for name, service in compose["services"].items():
        expected = {"no"} if name == "migrate" else {"always", "unless-stopped"}
        assert service["restart"] in expected, name


def test_no_secret_is_written_in_deploy_files():
    texts = {p: p.read_text() for p in DEPLOY.rglob("*") if p.is_file()}
    assert texts
    for path, text in texts.items():
        # credentials in URLs only as ${VAR} interpolations
        for url in re.findall(r"postgres(?:ql)?://[^\s\"']+", text):
            credentials = url.split("://", 1)[1].split("@", 1)
            if len(credentials) == 2 and ":" in credentials[0]:
                assert credentials[0].split(":", 1)[1].startswith("${"), (path, url)
        assert not re.search(r"AIza[0-9A-Za-z_-]{20,}", text), path  # a Google API key
        # a key naming a credential has a ${VAR} value or none (an env: reference below it)
        pattern = r"(?im)^[ \t-]*[\w-]*(password|api_key|token)[ \t]*:[ \t]*(\S*)"
        for match in re.finditer(pattern, text):
            value = match.group(2)
            assert not value or value.startswith(("${", '"${')), (path, match.group(0))


# -- one set of operational settings ---------------------------------------------------------


def test_local_and_production_instances_share_queue_pool_monitoring_and_retention():
    local = yaml.safe_load(DAGSTER_YAML)
    prod = production()
    helm = helm_values()
    for key in SHARED_SETTINGS:
        assert local[key] == prod[key], key
    for key in ("concurrency", "run_monitoring", "run_retries", "sensors"):
        assert helm["additionalInstanceConfig"][key] == prod[key], key
    assert (
        helm["retention"]["schedule"]["purgeAfterDays"]
        == (prod["retention"]["schedule"]["purge_after_days"])
    )
    assert (
        helm["retention"]["sensor"]["purgeAfterDays"]
        == (prod["retention"]["sensor"]["purge_after_days"])
    )
    assert local["run_launcher"]["class"] == "LocalRunLauncher"


def test_a_hung_hourly_run_releases_the_pool_before_the_next_hours_run():
    monitoring = production()["run_monitoring"]
    assert monitoring["enabled"] and monitoring["max_resume_run_attempts"] == 0
    # failed at most one poll after its max runtime, its slot freed at most one poll after that
    worst = lambda runtime: (  # noqa: E731
        runtime
        + 2 * monitoring["poll_interval_seconds"]
        + monitoring["free_slots_after_run_end_seconds"]
    )
    assert worst(HOURLY_MAX_RUNTIME_SECONDS) < 3600
    assert worst(TRACKED_VIDEOS_MAX_RUNTIME_SECONDS) < 3600
    assert worst(0) <= 5 * 60  # a dead worker's slot is free within 5 minutes
    assert int(CURRENT_HOUR_RUN_TAGS[PRIORITY_TAG]) > 0
    from ytmetrics_dagster.definitions import defs

    repo = defs().get_repository_def()
    assert repo.get_job("hourly_snapshot_job").tags[MAX_RUNTIME_TAG] == str(
        HOURLY_MAX_RUNTIME_SECONDS
    )
    for job in repo.get_all_jobs():
        assert job.executor_def.name == "in_process", job.name
        assert int(job.tags.get(PRIORITY_TAG, 0)) < int(CURRENT_HOUR_RUN_TAGS[PRIORITY_TAG])


# -- the image builds what the tests run -----------------------------------------------------


def test_the_image_installs_the_pinned_versions_the_tests_run_on():
    instructions = dockerfile_instructions()
    # the base image is a build argument: the public Python image of the tests' Python by
    # default (a local Debian bookworm with the same python3.11 where Docker Hub is out of reach)
    assert next(args for kw, args in instructions if kw == "FROM") == "${BASE_IMAGE}"
    base = next(args for kw, args in instructions if kw == "ARG").split("=", 1)[1]
    version = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-slim-bookworm", base)
    assert version, f"unexpected base image {base}"
    assert tuple(map(int, version.groups())) == sys.version_info[:2]

    installs = [args for kw, args in instructions if kw == "RUN" and "pip install" in args]
    assert installs == [
        'pip install --no-cache-dir --constraint deploy/constraints.txt -e ".[deploy]"'
    ]
    makefile = (ROOT / "Makefile").read_text()
    assert "CONSTRAINTS := deploy/constraints.txt" in makefile
    assert "pip install --quiet --constraint $(CONSTRAINTS) -e" in makefile

    pins = {}
    for line in (DEPLOY / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            assert pinned, f"not pinned: {line}"
            pins[name.lower()] = pinned
    installed = {name: importlib.metadata.version(name) for name in pins}
    assert installed == pins  # the tests run on exactly what the image installs

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["deploy"]:
        name = re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower()
        assert name in pins, f"{name} is installed by the image but not pinned"

    assert any(kw == "USER" and not args.startswith(("0", "root")) for kw, args in instructions)


def test_the_topology_test_runs_the_images_and_composes_commands(tmp_path):
    command = image_command()
    module = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert command == [
        "dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", module,
    ]  # fmt: skip
    processes = DagsterProcesses(tmp_path, {}, {})
    port = str(processes.grpc_port)
    assert processes.code_server_argv() == [
        str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", port, "-m", module,
    ]  # fmt: skip
    assert processes.webserver_argv()[0] == str(BIN / "dagster-webserver")
    assert processes.daemon_argv() == [
        str(BIN / "dagster-daemon"), "run", "-w", str(processes.workspace),
    ]  # fmt: skip
