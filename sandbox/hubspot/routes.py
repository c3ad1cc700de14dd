"""HubSpot CRM v3/v4 endpoints: HTTP in and out; the portal does the work.

Each handler reads the query string or JSON body, calls the portal, and counts
records returned and written in the sandbox stats. The app has already checked
the bearer token, faults and rate limits. Multi-valued query parameters are
accepted both repeated (``properties=a&properties=b``, as hubspot-api-client
sends them) and comma-separated (``properties=a,b``).

``POST /__sandbox/hubspot/revoke`` revokes the private app's access token, at once
or after a number of further API calls (``{"after_calls": N}``): every call then
answers 401 as HubSpot does for a deleted or rotated token, until ``{"restore":
true}`` (the sandbox's stand-in for installing a new token).

The token holds every scope the routes need unless ``POST /__sandbox/hubspot/scopes``
(``{"scopes": [...]}``) narrows it: a call then needs its scope or answers 403
MISSING_SCOPES, as HubSpot does for a private app not granted it. Companies and deals:
``crm.objects.<object>.read`` / ``.write`` for records, associations and pipelines,
``crm.schemas.<object>.read`` / ``.write`` for properties. The other objects need their
object's scope for all of it, as HubSpot's API reference names them: leads
``crm.objects.leads.*``, quotes ``crm.objects.quotes.*``, line items
``crm.objects.line_items.*``, tickets ``tickets``, and calls and emails (engagements)
``crm.objects.contacts.*``. An association read needs the scope of its from-object.

Another user's deletions: ``POST /__sandbox/hubspot/archive`` and ``…/restore``
(``{"object_type": "deals", "ids": [...]}``, ids or seed keys) archive records into the
recycling bin and bring them back; ``POST /__sandbox/hubspot/clock``
(``{"advance_days": 91}``) moves the portal's clock forward, after which records
archived more than 90 days before are gone for good.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from sandbox.credentials import SandboxCredentials
from sandbox.faults import FaultInjector
from sandbox.http import CONTROL, HUBSPOT, Route, clock_advance_ms, json_body, json_response
from sandbox.hubspot.errors import HubSpotApiError, validation_error
from sandbox.hubspot.objects import resolve_object_type
from sandbox.hubspot.portal import HubSpotPortal
from sandbox.hubspot.values import iso_ms
from sandbox.stats import SandboxStats

OBJECTS = "/crm/v3/objects/<object_type>"
PROPERTIES = "/crm/v3/properties/<object_type>"
PIPELINES = "/crm/v3/pipelines/<object_type>"
ASSOCIATIONS = "/crm/v4/associations/<from_type>/<to_type>"


def _names(request: Request, key: str) -> list[str]:
    """A multi-valued parameter, repeated or comma-separated."""
    return [
        name.strip()
        for value in request.args.getlist(key)
        for name in value.split(",")
        if name.strip()
    ]


def _flag(request: Request, key: str) -> bool:
    return request.args.get(key, "false").strip().lower() == "true"


def _int(request: Request, key: str, default: int) -> int:
    text = request.args.get(key)
    if text is None or not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise validation_error(f"{key} must be an integer (got {text!r})") from None


def _body(request: Request) -> Any:
    body = json_body(request)
    if body is None and request.get_data(cache=True):
        raise validation_error("Invalid input JSON on line 1, column 1: the body is not JSON")
    return body


def _answers_errors(handler: Callable[..., Response]) -> Callable[..., Response]:
    """HubSpotApiError → HubSpot's JSON error response."""

    @functools.wraps(handler)
    def wrapper(request: Request, **kwargs: str) -> Response:
        try:
            return handler(request, **kwargs)
        except HubSpotApiError as error:
            return json_response(error.body(), error.status)

    return wrapper


class TokenRevocation:
    """The private app token: valid, revoked, or revoked after some more API calls."""

    def __init__(self) -> None:
        self._calls_left: int | None = None
        self.revoked = False
        self._lock = threading.Lock()

    def schedule(self, after_calls: int) -> None:
        with self._lock:
            self.revoked = after_calls == 0
            self._calls_left = after_calls or None

    def restore(self) -> None:
        with self._lock:
            self.revoked, self._calls_left = False, None

    def refuses(self) -> bool:
        """Count one API call; True when the token is (now) revoked."""
        with self._lock:
            if self._calls_left is not None:
                self._calls_left -= 1
                if self._calls_left < 0:
                    self.revoked, self._calls_left = True, None
            return self.revoked


#: Where a private app's token tells its scopes (POST, the token in the body).
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
PORTAL_ID, PRIVATE_APP_ID, PRIVATE_APP_USER_ID = 24_681_357, 3_120_001, 71_000_001

#: The scope of each activity object's records (and its properties and pipelines), by
#: read/write: HubSpot's API reference (tickets: "tickets"; calls and emails, engagements:
#: the contacts scopes).
ACTIVITY_SCOPES = {
    "leads": ("crm.objects.leads.read", "crm.objects.leads.write"),
    "quotes": ("crm.objects.quotes.read", "crm.objects.quotes.write"),
    "line_items": ("crm.objects.line_items.read", "crm.objects.line_items.write"),
    "tickets": ("tickets", "tickets"),
    "calls": ("crm.objects.contacts.read", "crm.objects.contacts.write"),
    "emails": ("crm.objects.contacts.read", "crm.objects.contacts.write"),
    "contacts": ("crm.objects.contacts.read", "crm.objects.contacts.write"),
}
#: Every scope the sandbox's routes ask for; a new token holds them all.
SCOPES = tuple(
    dict.fromkeys(
        [
            *(
                f"crm.{kind}.{name}.{access}"
                for kind in ("objects", "schemas")
                for name in ("companies", "deals")
                for access in ("read", "write")
            ),
            *(scope for pair in ACTIVITY_SCOPES.values() for scope in pair),
        ]
    )
)


def required_scope(rule: str, method: str, arguments: dict[str, str]) -> str | None:
    """The scope a call needs (None when its object type is unknown: the route says so)."""
    named = arguments.get("object_type") or arguments.get("from_type")
    if named is None:
        return None
    try:
        object_name = resolve_object_type(named).name
    except HubSpotApiError:
        return None
    reading = method == "GET" or rule.endswith(("/batch/read", "/search"))
    if object_name in ACTIVITY_SCOPES:
        return ACTIVITY_SCOPES[object_name][0 if reading else 1]
    kind = "schemas" if rule.startswith(PROPERTIES) else "objects"
    return f"crm.{kind}.{object_name}.{'read' if reading else 'write'}"


def _missing_scope_answer(scope: str) -> Response:
    return json_response(
        {
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call. "
            "Read more about required scopes here: https://developers.hubspot.com/scopes.",
            "correlationId": str(uuid.uuid4()),
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
            "links": {"scopes": "https://developers.hubspot.com/scopes"},
            "category": "MISSING_SCOPES",
        },
        403,
    )


def _revoked_answer(
    message: str = "Authentication credentials not found. This API supports OAuth 2.0 "
    "authentication and you can find more details at "
    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
) -> Response:
    return json_response(
        {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": "INVALID_AUTHENTICATION",
        },
        401,
    )


class HubSpotHost(Protocol):
    """What the HubSpot routes use of the sandbox app, which passes itself in."""

    @property
    def hubspot(self) -> HubSpotPortal: ...
    @property
    def credentials(self) -> SandboxCredentials: ...
    @property
    def stats(self) -> SandboxStats: ...
    @property
    def faults(self) -> FaultInjector: ...


def hubspot_routes(app: HubSpotHost) -> list[Route]:
    """Every HubSpot route the sandbox serves; the token's revocation and scopes start
    afresh with them."""
    portal = app.hubspot
    stats = app.stats
    revocation = TokenRevocation()
    granted: set[str] = set(SCOPES)

    def scopes_control(request: Request) -> Response:
        if request.method == "POST":
            body = json_body(request)
            wanted = body.get("scopes") if isinstance(body, dict) else None
            if not isinstance(wanted, list) or not set(wanted) <= set(SCOPES):
                return json_response(
                    {"error": f"post {{'scopes': [...]}} with scopes from {', '.join(SCOPES)}"},
                    400,
                )
            granted.clear()
            granted.update(wanted)
        return json_response({"scopes": sorted(granted)})

    def revoke_control(request: Request) -> Response:
        body = json_body(request)
        body = body if isinstance(body, dict) else {}
        if body.get("restore"):
            revocation.restore()
            return json_response({"revoked": False})
        after = body.get("after_calls", 0)
        if not isinstance(after, int) or after < 0:
            return json_response({"error": "after_calls is a whole number >= 0"}, 400)
        revocation.schedule(after)
        return json_response({"revoked": after == 0, "after_calls": after})

    def recycle_control(request: Request, action: str) -> Response:
        """Archive or restore records as another user of the portal would (in the app:
        no call of the private app, so no quota or revocation applies)."""
        body = json_body(request)
        body = body if isinstance(body, dict) else {}
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            return json_response(
                {"error": 'post {"object_type": "deals", "companies" or another, "ids": [...]}'},
                400,
            )
        object_type = str(body.get("object_type", "deals"))
        try:
            portal.table(object_type)
        except HubSpotApiError as error:
            return json_response({"error": error.message}, 400)
        done: list[str] = []
        missing: list[str] = []
        for key in map(str, ids):
            try:
                if action == "archive":
                    ok = portal.archive(object_type, key)
                else:
                    lag = app.faults.spec.search_lag_ms
                    ok = portal.restore(object_type, key, search_lag_ms=lag)
            except ValueError:
                ok = False  # neither an id nor a seed key
            (done if ok else missing).append(key)
        return json_response({"archived" if action == "archive" else "restored": done,
                              "not_found": missing})  # fmt: skip

    def archive_control(request: Request) -> Response:
        return recycle_control(request, "archive")

    def restore_control(request: Request) -> Response:
        return recycle_control(request, "restore")

    def clock_control(request: Request) -> Response:
        """The portal's clock; POST {"advance_days": D} or {"advance_ms": N} lets time pass
        (forward only) and purges what the recycling bin no longer keeps."""
        advance = clock_advance_ms(request)
        if isinstance(advance, Response):
            return advance
        purged = portal.advance_clock(advance) if advance else 0
        now = portal.clock.now()
        return json_response(
            {"now": iso_ms(now), "offset_ms": portal.clock.offset_ms, "purged": purged}
        )

    def token_info(request: Request) -> Response:
        """What HubSpot says of a private app's token: its app, portal and scopes. The
        token travels in the body, so the call needs no Authorization header."""
        body = json_body(request)
        token = body.get("tokenKey") if isinstance(body, dict) else None
        if token != app.credentials.hubspot_access_token or revocation.revoked:
            return _revoked_answer("The access token is invalid or has been revoked.")
        return json_response(
            {
                "userId": PRIVATE_APP_USER_ID,
                "hubId": PORTAL_ID,
                "appId": PRIVATE_APP_ID,
                "scopes": ["oauth", *sorted(granted)],
            }
        )

    def guarded(rule: str, handler: Callable[..., Response]) -> Callable[..., Response]:
        answering = _answers_errors(handler)

        @functools.wraps(handler)
        def wrapper(request: Request, **kwargs: str) -> Response:
            if revocation.refuses():
                return _revoked_answer()
            scope = required_scope(rule, request.method, kwargs)
            if scope is not None and scope not in granted:
                return _missing_scope_answer(scope)
            return answering(request, **kwargs)

        return wrapper

    def link(request: Request, after: str) -> str:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "after"]
        return (
            f"{request.host_url.rstrip('/')}{request.path}?{urlencode([*args, ('after', after)])}"
        )

    # --- objects -------------------------------------------------------------------------

    def list_objects(request: Request, object_type: str) -> Response:
        page = portal.list_objects(
            object_type,
            limit=_int(request, "limit", 10),
            after=request.args.get("after"),
            properties=_names(request, "properties"),
            properties_with_history=_names(request, "propertiesWithHistory"),
            associations=_names(request, "associations"),
            archived=_flag(request, "archived"),
        )
        stats.returned(HUBSPOT, len(page.results))
        body: dict[str, Any] = {"results": page.results}
        if page.next_after is not None:
            body["paging"] = {
                "next": {"after": page.next_after, "link": link(request, page.next_after)}
            }
        return json_response(body)

    def get_object(request: Request, object_type: str, object_id: str) -> Response:
        record = portal.get_object(
            object_type,
            object_id,
            properties=_names(request, "properties"),
            properties_with_history=_names(request, "propertiesWithHistory"),
            associations=_names(request, "associations"),
            archived=_flag(request, "archived"),
            id_property=request.args.get("idProperty"),
        )
        stats.returned(HUBSPOT, 1)
        return json_response(record)

    def update_object(request: Request, object_type: str, object_id: str) -> Response:
        record = portal.update_object(
            object_type,
            object_id,
            _body(request),
            id_property=request.args.get("idProperty"),
            search_lag_ms=app.faults.spec.search_lag_ms,
        )
        stats.written(HUBSPOT, 1)
        return json_response(record)

    def archive_object(request: Request, object_type: str, object_id: str) -> Response:
        portal.table(object_type)  # 400 for an unknown type
        if object_id.isdigit() and portal.archive(object_type, object_id):
            stats.written(HUBSPOT, 1)
        return Response(status=204)

    def batch_read(request: Request, object_type: str) -> Response:
        result = portal.batch_read(object_type, _body(request), archived=_flag(request, "archived"))
        stats.returned(HUBSPOT, len(result.body["results"]))
        return json_response(result.body, result.status)

    def batch_update(request: Request, object_type: str) -> Response:
        result = portal.batch_update(
            object_type,
            _body(request),
            reject=lambda: app.faults.fires("reject_records"),
            search_lag_ms=app.faults.spec.search_lag_ms,
        )
        stats.written(HUBSPOT, result.written)
        return json_response(result.body, result.status)

    def search(request: Request, object_type: str) -> Response:
        chars = len(request.get_data(cache=True, as_text=True))
        answer = portal.search(object_type, _body(request), chars)
        stats.returned(HUBSPOT, len(answer["results"]))
        return json_response(answer)

    # --- properties ------------------------------------------------------------------------

    def properties(request: Request, object_type: str) -> Response:
        if request.method == "POST":
            return json_response(portal.create_property(object_type, _body(request)), 201)
        return json_response(
            {"results": portal.properties(object_type, archived=_flag(request, "archived"))}
        )

    def one_property(request: Request, object_type: str, property_name: str) -> Response:
        if request.method == "PATCH":
            return json_response(portal.update_property(object_type, property_name, _body(request)))
        return json_response(portal.property(object_type, property_name))

    def groups(request: Request, object_type: str) -> Response:
        if request.method == "POST":
            return json_response(portal.create_group(object_type, _body(request)), 201)
        return json_response({"results": portal.groups(object_type)})

    def one_group(request: Request, object_type: str, group_name: str) -> Response:
        return json_response(portal.group(object_type, group_name))

    # --- pipelines -------------------------------------------------------------------------

    def pipelines(request: Request, object_type: str) -> Response:
        return json_response({"results": portal.pipelines(object_type)})

    def pipeline(request: Request, object_type: str, pipeline_id: str) -> Response:
        return json_response(portal.pipeline_json(object_type, pipeline_id))

    def stages(request: Request, object_type: str, pipeline_id: str) -> Response:
        return json_response({"results": portal.stages(object_type, pipeline_id)})

    def stage(request: Request, object_type: str, pipeline_id: str, stage_id: str) -> Response:
        return json_response(portal.stage(object_type, pipeline_id, stage_id))

    # --- associations ---------------------------------------------------------------------

    def association_labels(request: Request, from_type: str, to_type: str) -> Response:
        return json_response({"results": portal.association_labels(from_type, to_type)})

    def read_associations(request: Request, from_type: str, to_type: str) -> Response:
        result = portal.read_associations(from_type, to_type, _body(request))
        stats.returned(HUBSPOT, len(result.body["results"]))
        return json_response(result.body, result.status)

    def object_associations(
        request: Request, object_type: str, object_id: str, to_type: str
    ) -> Response:
        page = portal.object_associations(
            object_type,
            object_id,
            to_type,
            after=request.args.get("after"),
            limit=_int(request, "limit", 500),
        )
        stats.returned(HUBSPOT, len(page.results))
        body: dict[str, Any] = {"results": page.results}
        if page.next_after is not None:
            body["paging"] = {
                "next": {"after": page.next_after, "link": link(request, page.next_after)}
            }
        return json_response(body)

    table: list[tuple[str, tuple[str, ...], Callable[..., Response]]] = [
        (OBJECTS, ("GET",), list_objects),
        (f"{OBJECTS}/batch/read", ("POST",), batch_read),
        (f"{OBJECTS}/batch/update", ("POST",), batch_update),
        (f"{OBJECTS}/search", ("POST",), search),
        (f"{OBJECTS}/<object_id>", ("GET",), get_object),
        (f"{OBJECTS}/<object_id>", ("PATCH",), update_object),
        (f"{OBJECTS}/<object_id>", ("DELETE",), archive_object),
        (PROPERTIES, ("GET", "POST"), properties),
        (f"{PROPERTIES}/groups", ("GET", "POST"), groups),
        (f"{PROPERTIES}/groups/<group_name>", ("GET",), one_group),
        (f"{PROPERTIES}/<property_name>", ("GET", "PATCH"), one_property),
        (PIPELINES, ("GET",), pipelines),
        (f"{PIPELINES}/<pipeline_id>", ("GET",), pipeline),
        (f"{PIPELINES}/<pipeline_id>/stages", ("GET",), stages),
        (f"{PIPELINES}/<pipeline_id>/stages/<stage_id>", ("GET",), stage),
        (f"{ASSOCIATIONS}/batch/read", ("POST",), read_associations),
        (f"{ASSOCIATIONS}/labels", ("GET",), association_labels),
        ("/crm/v4/objects/<object_type>/<object_id>/associations/<to_type>", ("GET",),
         object_associations),
    ]  # fmt: skip
    return [
        *(
            Route(rule, methods, HUBSPOT, guarded(rule, handler))
            for rule, methods, handler in table
        ),
        Route(TOKEN_INFO, ("POST",), HUBSPOT, token_info, auth=False),
        Route("/__sandbox/hubspot/revoke", ("POST",), CONTROL, revoke_control),
        Route("/__sandbox/hubspot/scopes", ("GET", "POST"), CONTROL, scopes_control),
        Route("/__sandbox/hubspot/archive", ("POST",), CONTROL, archive_control),
        Route("/__sandbox/hubspot/restore", ("POST",), CONTROL, restore_control),
        Route("/__sandbox/hubspot/clock", ("GET", "POST"), CONTROL, clock_control),
    ]
