"""Where partner-kpi's log records go: stderr, as text for people or JSON lines for
schedulers (cron, Airflow), at a level the command line or the environment chooses.

stdout stays the command's own output (tables, ``wrote …`` lines), so a scheduled
``sync -q`` prints nothing there unless records were rejected, and its stderr is
one JSON object a line: retries, the run's summary, and the error that ended it.
Records carry no secret: messages are built from ids, codes and counts only, and
the HTTP libraries' own debug output (which may show request lines) stays off
unless asked for with ``--log-level debug``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

from connectors.registry import adapters

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
FORMAT_ENV, LEVEL_ENV = "PARTNER_KPI_LOG_FORMAT", "PARTNER_KPI_LOG_LEVEL"
#: third-party loggers kept at WARNING unless the level asked for is debug (each CRM
#: adapter adds its client library's)
QUIET_LIBRARIES = ("urllib3", "requests", "cheroot")

_installed: dict[str, logging.Handler] = {}


class _TextFormatter(logging.Formatter):
    """``partner-kpi: warning: …``, the shape of the command line's own error line."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"partner-kpi: {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(log_format: LogFormat, level: str) -> None:
    """Send every record at ``level`` or above to stderr in ``log_format``.

    Replaces only the handler an earlier call installed, so a host process's own
    handlers (a test runner's log capture) stay in place.
    """
    handler = _StderrHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp=True,
            )
        )
    else:
        handler.setFormatter(_TextFormatter())
    root = logging.getLogger()
    previous = _installed.pop("handler", None)
    if previous is not None:
        root.removeHandler(previous)
    root.addHandler(handler)
    _installed["handler"] = handler
    root.setLevel(level.upper())
    libraries = [name for a in adapters().values() for name in a.library_loggers]
    for name in (*QUIET_LIBRARIES, *libraries):
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def current_format() -> LogFormat:
    """The format ``configure`` chose (text until it is called)."""
    handler = _installed.get("handler")
    json_lines = handler is not None and isinstance(handler.formatter, JsonFormatter)
    return "json" if json_lines else "text"
