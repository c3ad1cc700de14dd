"""The YAML config file: loading, validation, and one-line errors that name the key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError

from connectors.registry import adapter_named
from core.adapter import CrmAdapter, CrmSettings, CrmWritebackSettings, ScoringFields
from core.config_values import shown
from core.connector import Connector
from core.errors import ConfigError
from kpi_engine.settings import ScoringSettings
from quality import QualitySettings
from writeback.settings import WritebackSettings


class StoreSettings(BaseModel):
    """Where the local store lives (issue 4 fills it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("partner-kpi.db")


class AppConfig(BaseModel):
    """The whole config file. ``crm:`` and the CRM's own ``writeback:`` keys are validated
    by the adapter ``crm.type`` names (see ``parse_config``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: SerializeAsAny[CrmSettings] | None = None
    store: StoreSettings = Field(default_factory=StoreSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)
    #: the ``writeback:`` keys that belong to the configured CRM (a permission set …)
    crm_writeback: SerializeAsAny[CrmWritebackSettings] = Field(
        default_factory=CrmWritebackSettings
    )

    @property
    def adapter(self) -> CrmAdapter[Any]:
        """The configured CRM's adapter; a ConfigError naming the fix when there is none."""
        if self.crm is None:
            raise ConfigError(
                "crm", "no CRM configured; add a crm: section (see config.example.yaml)"
            )
        return adapter_named(self.crm.type)

    @property
    def crm_name(self) -> str:
        return self.crm.type if self.crm is not None else "none"

    @property
    def deleted_visible_days(self) -> int | None:
        """How long the configured CRM lists deleted records (``crm.deleted_visible_days``,
        else the adapter's figure); None with no CRM."""
        return None if self.crm is None else self.adapter.deletion_window(self.crm)

    def connector(self, environ: Mapping[str, str] | None = None) -> Connector:
        """The configured CRM's connector; secrets come from ``environ`` (default: os.environ)."""
        adapter = self.adapter
        fields = ScoringFields(first_contact_field=self.scoring.first_contact_field)
        return adapter.connect(self.crm, os.environ if environ is None else environ, fields)


def _key_of(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def config_error_from(exc: ValidationError, prefix: str = "") -> ConfigError:
    """The first problem of a validation error as a ConfigError naming the full key."""
    error = exc.errors()[0]
    location = list(error["loc"])
    key = _key_of((*([prefix] if prefix else []), *location))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key; remove it or check its spelling against config.example.yaml"
    elif error["type"] == "missing":
        message = "required key is missing; add it (see config.example.yaml)"
    elif "input" in error and error["type"] not in ("value_error", "assertion_error"):
        message = f"{message} (got {shown(error['input'])})"
    return ConfigError(key, message)


def parse_config(raw: Any, source: str = "config") -> AppConfig:
    """Validate a loaded YAML document."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, "the file must hold a mapping of sections (scoring: …)")
    document = dict(raw)
    section = document.pop("crm", None)
    if section is not None:
        adapter = _crm_adapter(section)
        document["crm"] = _validated(adapter.settings_model, section, "crm")
        # the writeback: keys the adapter declares are its own; the rest are writeback's
        writeback = document.get("writeback")
        own_keys = adapter.writeback_settings_model.model_fields
        own: dict[str, Any] = {}
        if isinstance(writeback, dict):
            own = {k: v for k, v in writeback.items() if k in own_keys}
            document["writeback"] = {k: v for k, v in writeback.items() if k not in own_keys}
        document["crm_writeback"] = _validated(adapter.writeback_settings_model, own, "writeback")
    try:
        return AppConfig.model_validate(document)
    except ValidationError as exc:
        raise config_error_from(exc) from None


def _crm_adapter(section: Any) -> CrmAdapter[Any]:
    if not isinstance(section, dict):
        raise ConfigError("crm", "must be a mapping with a type: key (see config.example.yaml)")
    return adapter_named(section.get("type"))


def _validated(model: type[BaseModel], section: Any, prefix: str) -> BaseModel:
    try:
        return model.model_validate(section)
    except ValidationError as exc:
        raise config_error_from(exc, prefix) from None


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
    return anchored(parse_config(raw, str(path)), path.parent)


def _anchored_paths(model: BaseModel, folder: Path) -> dict[str, Path]:
    return {
        name: folder / value
        for name, value in model
        if isinstance(value, Path) and not value.is_absolute()
    }


def anchored(config: AppConfig, folder: Path) -> AppConfig:
    """The config with its relative paths (a CA bundle, the store) read from ``folder``, the
    config file's own: a job started from another folder (cron's $HOME) finds the same files."""
    update: dict[str, BaseModel] = {}
    for section in ("crm", "store"):
        model = getattr(config, section)
        if model is not None and (paths := _anchored_paths(model, folder.absolute())):
            update[section] = model.model_copy(update=paths)
    return config.model_copy(update=update)


def with_window(settings: ScoringSettings, window_days: int | None) -> ScoringSettings:
    """The settings with the window replaced by a command-line value, validated again."""
    if window_days is None:
        return settings
    try:
        return ScoringSettings.model_validate({**settings.model_dump(), "window_days": window_days})
    except ValidationError as exc:
        error = config_error_from(exc)
        raise ConfigError("--window-days", error.problem) from None
