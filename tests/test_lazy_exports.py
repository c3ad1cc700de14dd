"""A package with a lazy face (``core.lazy``) hands out, on first read, the very object
its ``TYPE_CHECKING`` imports name, for each name of its ``__all__``, and nothing else."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAZY_PACKAGES = sorted(
    path.parent.name
    for path in REPO.glob("*/__init__.py")
    if "lazy_exports(" in path.read_text(encoding="utf-8")
)

#: in a fresh process: each name read from the package first, then from its module
PROBE = """
import importlib, json, sys
package = importlib.import_module(sys.argv[1])
declared = json.loads(sys.argv[2])
wrong = [
    name for name, module in declared.items()
    if getattr(package, name) is not getattr(importlib.import_module(module), name)
]
try:
    getattr(package, "no_such_name")
    unknown = "served"
except AttributeError as exc:
    unknown = str(exc)
print(json.dumps({"wrong": wrong, "unknown": unknown}))
"""


def declared_imports(package: str) -> dict[str, str]:
    """Each name the package's ``if TYPE_CHECKING:`` block imports → its module."""
    tree = ast.parse((REPO / package / "__init__.py").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                found.update({alias.name: statement.module for alias in statement.names})
    return found


def test_the_lazy_packages_are_found() -> None:
    assert {"kpi_engine", "quality", "writeback"} <= set(LAZY_PACKAGES)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_each_public_name_is_the_declared_object(package: str) -> None:
    declared = declared_imports(package)
    assert sorted(declared) == sorted(importlib.import_module(package).__all__)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, package, json.dumps(declared)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["wrong"] == []
    assert found["unknown"] == f"module {package!r} has no attribute 'no_such_name'"
