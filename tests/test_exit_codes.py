"""The error tree is drawn once in core/errors.py and tabled once in the README: both say
what the classes do."""

from __future__ import annotations

import re
from pathlib import Path

from core import errors
from core.errors import PartnerKpiError

README = Path(__file__).resolve().parents[1] / "README.md"


def error_classes() -> dict[str, type[PartnerKpiError]]:
    found: dict[str, type[PartnerKpiError]] = {}
    pending: list[type[PartnerKpiError]] = [PartnerKpiError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending += cls.__subclasses__()
    return {name: cls for name, cls in found.items() if cls.__module__ == errors.__name__}


def drawn_tree() -> dict[str, tuple[int | None, str | None]]:
    """Each class in the docstring's drawing: its exit code and its parent."""
    drawn: dict[str, tuple[int | None, str | None]] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    ([│├└─ ]*)(\w+)(?:\s+(\d+))?\s", line + " ")
        if match is None or not match.group(2)[0].isupper():
            continue
        depth = len(match.group(1)) // 4
        del parents[depth:]
        code = int(match.group(3)) if match.group(3) else None
        drawn[match.group(2)] = (code, parents[-1] if parents else None)
        parents.append(match.group(2))
    return drawn


def readme_codes() -> dict[int, str]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Exit codes") :].split("\n\n")[1]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.+) \|$", table, re.M)}


def test_the_drawing_is_the_class_tree_with_its_exit_codes() -> None:
    drawn = drawn_tree()
    classes = error_classes()
    assert set(drawn) == set(classes)
    for name, cls in classes.items():
        code, parent = drawn[name]
        assert parent == (None if cls is PartnerKpiError else cls.__mro__[1].__name__), name
        if cls is not PartnerKpiError:
            assert code == cls.exit_code, name


def test_the_readme_tables_every_exit_code_and_no_other() -> None:
    codes = readme_codes()
    used = {cls.exit_code for cls in error_classes().values()}
    assert used - set(codes) == set()  # 1 is the base's: a bug, and check's "missing"
    assert set(codes) - used == {0}
