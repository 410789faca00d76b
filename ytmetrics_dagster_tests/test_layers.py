"""The package reads as the pipeline: a lower layer never imports a higher one, not even inside
a function (ytmetrics_dagster/__init__.py names the layers)."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[1] / "ytmetrics_dagster"
# lowest first; modules of one layer may import each other
LAYERS = {
    "domain": 0,
    "settings": 1,
    "data_dir": 1,
    "youtube": 2,
    "warehouse": 3,
    "services": 4,
    "defs": 5,
    "definitions": 5,
    "surfaces": 6,
    "runtime": 6,
}


def upward_imports(source: str, layer: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            inside = parts[0] == "ytmetrics_dagster" and len(parts) > 1 and parts[1] in LAYERS
            if inside and LAYERS[parts[1]] > LAYERS[layer]:
                found.append(module)
    return found


def test_every_module_belongs_to_a_layer():
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    tops -= {"__init__", "__pycache__"}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


def test_no_layer_imports_a_higher_one():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        layer = relative.parts[0].removesuffix(".py")
        if layer == "__init__":
            continue
        upward += [f"{relative}: {m}" for m in upward_imports(path.read_text(), layer)]
    assert upward == []


def test_the_check_sees_an_import_inside_a_function():
    source = "def f():\n    from ytmetrics_dagster.defs.partitions import hourly_partitions\n"
    assert upward_imports(source, "warehouse") == ["ytmetrics_dagster.defs.partitions"]
    assert upward_imports(source, "surfaces") == []
