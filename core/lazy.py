"""Package faces that import their modules when a name is first read, not up front.

``partner-kpi --help`` or a config error must not pay for Polars, PyArrow or DuckDB:
a package whose public names live beside heavy ones (``kpi_engine.settings`` beside the
engine) keeps its ``__all__`` and lets ``lazy_exports`` import each name's module on use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence


def lazy_exports(
    package: str, names: Sequence[str], modules: Sequence[str]
) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: each of ``names`` comes from the first of
    ``modules`` (list the light ones first) that holds it, imported when first read."""
    public = frozenset(names)

    def __getattr__(name: str) -> object:
        if name in public:
            for module in modules:
                found = getattr(importlib.import_module(module), name, _MISSING)
                if found is not _MISSING:
                    setattr(sys.modules[package], name, found)  # read once, then a plain name
                    return found
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


_MISSING = object()
