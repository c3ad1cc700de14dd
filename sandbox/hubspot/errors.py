"""HubSpot's error shapes: the request-level error and the per-record batch error.

Request-level errors are ``{status, message, correlationId, category, ...}``
(the client's ``Error`` model requires message, correlationId and category).
Batch errors are ``StandardError`` entries, whose model requires status,
category, message, context, errors and links: every one is always present.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any


class HubSpotApiError(Exception):
    """A request the portal refuses as a whole; the route answers it as JSON."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        sub_category: str | None = None,
        context: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.sub_category = sub_category
        self.context = context

    def body(self) -> dict[str, Any]:
        """The JSON body HubSpot sends with this error."""
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.context:
            body["context"] = {key: list(values) for key, values in self.context.items()}
        return body


def validation_error(message: str, **context: Sequence[str]) -> HubSpotApiError:
    """A 400 VALIDATION_ERROR, HubSpot's answer to a malformed or out-of-limits request."""
    return HubSpotApiError(400, "VALIDATION_ERROR", message, context=context or None)


def not_found(message: str = "resource not found") -> HubSpotApiError:
    """A 404 OBJECT_NOT_FOUND."""
    return HubSpotApiError(404, "OBJECT_NOT_FOUND", message)


def batch_error(
    category: str,
    message: str,
    *,
    context: Mapping[str, Sequence[str]],
    errors: Sequence[Mapping[str, Any]] = (),
    sub_category: str | None = None,
) -> dict[str, Any]:
    """One entry of a 207 response's ``errors`` (the client's StandardError)."""
    entry: dict[str, Any] = {
        "status": "error",
        "category": category,
        "message": message,
        "context": {key: list(values) for key, values in context.items()},
        "errors": list(errors),
        "links": {},
    }
    if sub_category:
        entry["subCategory"] = sub_category
    return entry
