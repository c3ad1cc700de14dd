"""The README's "How the code is laid out" names every module of the tree, and only those."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core", "connectors", "kpi_engine", "quality", "writeback", "store", "partner_kpi", "sandbox",
)  # fmt: skip
LISTED_ROOTS = (*PACKAGES, "bench")


def layout_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("## How the code is laid out")
    return readme[start : readme.index("\n## ", start + 1)]


def named_files() -> set[str]:
    """Paths the section names: a bullet opens with its folder, then names its files."""
    named: set[str] = set()
    for bullet in re.split(r"\n- ", layout_section())[1:]:
        folder_match = re.match(r"`([\w/]+/)`", bullet)
        if folder_match is None:
            continue
        folder = folder_match.group(1)
        for token in re.findall(r"`([\w./]+\.py)`", bullet):
            named.add(token if "/" in token else folder + token)
    return named


def tree_files() -> set[str]:
    return {
        str(path.relative_to(REPO))
        for root in LISTED_ROOTS
        for path in (REPO / root).rglob("*.py")
        if path.name != "__init__.py"
    }


def test_the_section_is_read_as_paths() -> None:
    assert {"core/errors.py", "partner_kpi/run.py", "connectors/registry.py"} <= named_files()


def test_every_module_is_named() -> None:
    assert sorted(tree_files() - named_files()) == []


def test_every_named_module_exists() -> None:
    missing = [path for path in named_files() if not (REPO / path).is_file()]
    assert sorted(missing) == []
