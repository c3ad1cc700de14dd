"""The CRM adapters partner-kpi knows: those installed under the ``partner_kpi.crm``
entry-point group (the built-in ones are declared in pyproject.toml) and those a
program registers at run time (a test's toy CRM, say).

The app asks this module for an adapter by its ``crm.type`` and never names a CRM.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from core.adapter import CrmAdapter
from core.errors import ConfigError

#: Where installed packages name their adapter description (``module:ADAPTER``).
ENTRY_POINT_GROUP = "partner_kpi.crm"

_registered: dict[str, CrmAdapter[Any]] = {}


@cache
def _installed() -> dict[str, CrmAdapter[Any]]:
    found: dict[str, CrmAdapter[Any]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        adapter = entry.load()
        if not isinstance(adapter, CrmAdapter) or adapter.name != entry.name:
            raise TypeError(
                f"entry point {entry.name} = {entry.value} is not the CrmAdapter named {entry.name}"
            )
        found[entry.name] = adapter
    return found


def adapters() -> dict[str, CrmAdapter[Any]]:
    """Every adapter by name, installed ones first, in name order within each."""
    return {**dict(sorted(_installed().items())), **_registered}


def register(adapter: CrmAdapter[Any]) -> None:
    """Make ``adapter`` known for this process (an installed one of that name is shadowed)."""
    _registered[adapter.name] = adapter


def unregister(name: str) -> None:
    """Forget an adapter registered with ``register``."""
    _registered.pop(name, None)


@contextmanager
def registered(adapter: CrmAdapter[Any]) -> Iterator[CrmAdapter[Any]]:
    """``adapter`` known for the ``with`` block only."""
    register(adapter)
    try:
        yield adapter
    finally:
        unregister(adapter.name)


def adapter_named(name: object, key: str = "crm.type") -> CrmAdapter[Any]:
    """The adapter of a ``crm.type``; a ConfigError that lists the known ones otherwise."""
    known = adapters()
    if isinstance(name, str) and name in known:
        return known[name]
    choices = ", ".join(known) or "none installed"
    got = "required key is missing" if name is None else f"unknown CRM {name!r}"
    raise ConfigError(key, f"{got}; use one of {choices}")


def sandbox_crms() -> tuple[str, ...]:
    """The CRMs the bundled sandbox speaks (their adapters say how to point at it)."""
    return tuple(name for name, a in adapters().items() if a.sandbox_section is not None)
