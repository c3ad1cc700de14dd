"""The kinds of value a config file holds, checked strictly, and a value shown safely.

YAML reads ``yes`` as true, and pydantic would then take true for 1.0: a share written
as ``yes`` would switch a guard off. Numbers here accept numbers only. A ``*_env`` key
names an environment variable; one that holds the secret itself is refused without
being printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

#: An environment variable's name as partner-kpi's configs write them.
_VARIABLE_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
#: Shapes of tokens and keys: a HubSpot private app token, a JWT, a PEM block, or a long
#: run of letters and digits together with no space.
_SECRET_SHAPES = (
    re.compile(r"^pat-[a-z0-9]+-"),
    re.compile(r"^eyJ[A-Za-z0-9_-]+\."),
    re.compile(r"-----BEGIN "),
    re.compile(r"^(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[^\s]{16,}$"),
)


def _number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not yes/no or true/false (write e.g. 0.2 or 10)")
    if not isinstance(value, int | float):
        raise ValueError("must be a number, written without quotes (e.g. 0.2 or 10)")
    return value


def _variable_name(value: str) -> str:
    # A Salesforce consumer secret is 64 capital hex digits: the shape of a variable name,
    # so a name must also not be a secret (held by a variable, or a long run with no _).
    if not _VARIABLE_NAME.match(value) or _is_secret_not_name(value):
        raise ValueError(
            "must name an environment variable (capital letters, digits and _, such as "
            "PARTNER_KPI_SF_PASSWORD); the value is not shown in case it is the secret itself: "
            "put the secret in that variable, never in the config file"
        )
    return value


def _is_secret_not_name(value: str) -> bool:
    if any(value == held for held in os.environ.values() if held):
        return True
    return "_" not in value and any(shape.search(value) for shape in _SECRET_SHAPES)


#: A number: an int or a float, never a YAML yes/no or a quoted string.
Number = Annotated[float, BeforeValidator(_number)]
#: A whole number: likewise.
WholeNumber = Annotated[int, BeforeValidator(_number)]
#: The name of an environment variable that holds a secret.
EnvVarName = Annotated[str, AfterValidator(_variable_name)]


def may_be_secret(value: object, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``value`` may be a secret: it equals an environment variable's value, or it
    has the shape of a token or a key; a list or mapping when any of its items may be."""
    if isinstance(value, Mapping):
        return any(may_be_secret(item, environ) for pair in value.items() for item in pair)
    if isinstance(value, list | tuple | set | frozenset):
        return any(may_be_secret(item, environ) for item in value)
    if not isinstance(value, str) or len(value) < 4:
        return False
    values = (os.environ if environ is None else environ).values()
    if any(value == held for held in values if held):
        return True
    if "://" in value or value.startswith(("/", "./", "../", "~")):
        return False  # a URL or a path: shown, so that a wrong one can be told
    return any(shape.search(value) for shape in _SECRET_SHAPES)


def shown(value: object, environ: Mapping[str, str] | None = None) -> str:
    """``value`` as a config error may print it: its repr, or a note that it is withheld."""
    if may_be_secret(value, environ):
        return "a value not shown: it may be a secret"
    return repr(value)
