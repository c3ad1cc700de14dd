"""What every sandbox route shares: the owners of routes, the route type, JSON responses,
the request context."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

Handler = Callable[..., Response]

#: who owns a route: one CRM, or the sandbox itself (its ``/__sandbox/`` control endpoints)
SALESFORCE, HUBSPOT, CONTROL = "salesforce", "hubspot", "sandbox"

#: the WSGI environ key of the request's socket (a dropped-connection fault closes it)
CONNECTION_KEY = "sandbox.socket"


@dataclass(frozen=True)
class Route:
    """One endpoint: its URL rule (werkzeug syntax), methods, owning CRM and handler.

    ``auth`` is False only for endpoints a client calls before it has a token
    (the OAuth token endpoint and the version list).
    """

    rule: str
    methods: tuple[str, ...]
    crm: str
    handler: Handler
    auth: bool = True


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (compact: pages of 2,000 records are the hot path)."""
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        headers=headers,
        content_type="application/json;charset=UTF-8",
    )


def json_body(request: Request) -> Any:
    """The request's JSON body, or None when it has none or it is not JSON."""
    data = request.get_data(cache=True)
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` (or Salesforce's ``OAuth …``) header."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


#: a day on a sandbox CRM's clock
DAY_MS = 86_400_000


def clock_advance_ms(request: Request) -> int | Response:
    """What a clock control route is asked: the milliseconds a POST {"advance_days": D} or
    {"advance_ms": N} moves the clock on (forward only; 0 for a GET), or the 400 to answer."""
    if request.method != "POST":
        return 0
    body = json_body(request)
    body = body if isinstance(body, dict) else {}
    days, ms = body.get("advance_days", 0), body.get("advance_ms", 0)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (days, ms))
    if not numbers or days < 0 or ms < 0 or not (days or ms):
        return json_response(
            {"error": 'post {"advance_days": D} or {"advance_ms": N}, D and N > 0'}, 400
        )
    return int(days * DAY_MS + ms)
