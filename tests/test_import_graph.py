"""The house rules of ARCHITECTURE.md, read off the source: who may import whom.

Every ``import`` counts, a lazy one inside a function too, since it is an arrow all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from connectors.registry import ENTRY_POINT_GROUP

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core", "connectors", "kpi_engine", "quality", "writeback", "store", "partner_kpi", "sandbox",
)  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
    }


def _imported(tree: ast.AST, here: str, is_package: bool) -> Iterator[str]:
    known = modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield sub if sub in known else base


@cache
def graph() -> dict[str, frozenset[str]]:
    """Each project module → the project modules it imports."""
    known = modules()
    edges = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = _imported(tree, name, path.name == "__init__.py")
        edges[name] = frozenset(m for m in found if m in known and m != name)
    return edges


def arrows_from(prefix: str) -> Iterator[tuple[str, str]]:
    for source, targets in graph().items():
        if source == prefix or source.startswith(prefix + "."):
            yield from ((source, target) for target in sorted(targets))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def crm_folders() -> set[str]:
    """The packages of the installed CRM adapters (connectors.salesforce …)."""
    return {entry.value.split(":")[0] for entry in entry_points(group=ENTRY_POINT_GROUP)}


def test_the_graph_sees_the_tree() -> None:
    assert {"core.errors", "partner_kpi.run", "connectors.salesforce.connector"} <= set(modules())
    assert "core.schema" in graph()["kpi_engine.frames"]  # an arrow the graph must see
    assert crm_folders() == {"connectors.salesforce", "connectors.hubspot"}


def test_the_core_imports_nothing_of_the_project() -> None:
    assert [arrow for arrow in arrows_from("core") if not _within(arrow[1], "core")] == []


def test_the_engine_imports_only_the_core() -> None:
    outside = [
        arrow
        for arrow in arrows_from("kpi_engine")
        if not (_within(arrow[1], "kpi_engine") or _within(arrow[1], "core"))
    ]
    assert outside == []


def test_data_quality_imports_only_the_core() -> None:
    outside = [
        arrow
        for arrow in arrows_from("quality")
        if not (_within(arrow[1], "quality") or _within(arrow[1], "core"))
    ]
    assert outside == []


def test_no_arrow_from_the_app_or_writeback_into_a_crm_folder() -> None:
    crms = crm_folders()
    into_crm = [
        arrow
        for package in ("partner_kpi", "writeback", "store", "kpi_engine", "quality")
        for arrow in arrows_from(package)
        if any(_within(arrow[1], crm) for crm in crms)
    ]
    assert into_crm == []


def test_writeback_never_imports_a_client_library() -> None:
    for name, path in modules().items():
        if _within(name, "writeback") or _within(name, "kpi_engine"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found = set(_imported(tree, name, path.name == "__init__.py"))
            assert not {m for m in found if m.split(".")[0] in {"simple_salesforce", "hubspot"}}


def test_the_import_graph_has_no_circle() -> None:
    """Tarjan's strongly connected components: any of more than one module is a circle."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert circles == []
