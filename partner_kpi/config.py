"""The YAML config file: loading, validation, and one-line errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.hubspot.settings import HubSpotSettings
from connectors.salesforce.settings import SalesforceSettings
from core.errors import ConfigError
from kpi_engine.settings import ScoringSettings
from writeback.settings import WritebackSettings


class StoreSettings(BaseModel):
    """Where the local store lives (issue 4 fills it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("partner-kpi.db")


class AppConfig(BaseModel):
    """The whole config file. Sections are added as the product grows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: SalesforceSettings | HubSpotSettings | None = Field(default=None, discriminator="type")
    store: StoreSettings = Field(default_factory=StoreSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)


#: the ``crm.type`` values; pydantic puts the chosen one in an error's location
CRM_TYPES = ("salesforce", "hubspot")


def _key_of(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def config_error_from(exc: ValidationError, prefix: str = "") -> ConfigError:
    """The first problem of a validation error as a ConfigError naming the full key."""
    error = exc.errors()[0]
    location = list(error["loc"])
    if len(location) > 1 and location[0] == "crm" and location[1] in CRM_TYPES:
        del location[1]  # the union's tag: the file has crm.overlap_seconds, not crm.<type>.…
    key = _key_of((*([prefix] if prefix else []), *location))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key; remove it or check its spelling against config.example.yaml"
    elif error["type"] == "missing":
        message = "required key is missing; add it (see config.example.yaml)"
    elif "input" in error and error["type"] not in ("value_error", "assertion_error"):
        message = f"{message} (got {error['input']!r})"
    return ConfigError(key, message)


def parse_config(raw: Any, source: str = "config") -> AppConfig:
    """Validate a loaded YAML document."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, "the file must hold a mapping of sections (scoring: …)")
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_error_from(exc) from None


def load_config(path: Path | None) -> AppConfig:
    """Read and validate a config file; no file means every default."""
    if path is None:
        return AppConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path), f"cannot read the file ({exc.strerror}); check the path"
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), f"not valid YAML{where}; fix the syntax") from None
    return parse_config(raw, str(path))


def with_window(settings: ScoringSettings, window_days: int | None) -> ScoringSettings:
    """The settings with the window replaced by a command-line value, validated again."""
    if window_days is None:
        return settings
    try:
        return ScoringSettings.model_validate({**settings.model_dump(), "window_days": window_days})
    except ValidationError as exc:
        error = config_error_from(exc)
        raise ConfigError("--window-days", error.problem) from None
