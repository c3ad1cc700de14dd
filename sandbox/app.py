"""The sandbox's WSGI application: routing, loopback check, auth, faults, limits, stats,
and its reset to the seeded state.

Both CRMs share one port: Salesforce under ``/services/``, HubSpot under
``/crm/``, the sandbox's own control endpoints under ``/__sandbox/``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.seed import SeedDataset
from sandbox.credentials import SandboxCredentials, SessionRegistry
from sandbox.faults import FaultInjector, FaultSpec, FaultSpecError
from sandbox.gate import RequestGate
from sandbox.http import (
    CONNECTION_KEY,
    CONTROL,
    HUBSPOT,
    SALESFORCE,
    Route,
    bearer_token,
    json_body,
    json_response,
)
from sandbox.hubspot.portal import HubSpotPortal
from sandbox.hubspot.routes import hubspot_routes
from sandbox.salesforce.org import SalesforceOrg
from sandbox.salesforce.routes import salesforce_routes
from sandbox.snapshot import SeededState
from sandbox.stats import SandboxStats
from sandbox.store import SqlStore
from sandbox.write_log import install_write_log, writes_by_record

LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
HUBSPOT_WINDOW_SECONDS = 10.0
#: the 401 of a control route without the control token (a CRM token does not open them)
CONTROL_REFUSED = (
    "the /__sandbox/ control routes need the sandbox's control token: send "
    "'Authorization: Bearer <token>' with the token the ready line prints as control.token "
    "(env PARTNER_KPI_SANDBOX_CONTROL_TOKEN); a CRM token does not open them"
)


#: HubSpot's record-changing batch routes end so; every other POST reads (search, batch read)
_HUBSPOT_BATCH_WRITES = ("/batch/create", "/batch/update", "/batch/upsert", "/batch/archive")


def writes_records(method: str, rule: str) -> bool:
    """Whether a call changes records (``write_latency_ms`` slows only these): a PATCH, PUT
    or DELETE, a Salesforce sObject or sObject Collections POST (not a Composite of
    describes), a HubSpot batch write."""
    if method in ("PATCH", "PUT", "DELETE"):
        return True
    if method != "POST":
        return False
    if rule.startswith("/services/"):
        return rule.endswith("/composite/sobjects") or "/sobjects/" in rule
    return rule.endswith(_HUBSPOT_BATCH_WRITES)


class DropConnection(Exception):
    """Raised to close the client's connection without an answer (the ``drop`` fault, and
    ``lost_response`` after the request was applied)."""


@dataclass
class _Limits:
    """Daily call counts per CRM and HubSpot's ten-second rolling window."""

    salesforce_calls: int = 0
    hubspot_calls: int = 0


class NotResettable(Exception):
    """A reset asked of a sandbox started without a copy of its seeded state."""


class SandboxApp:
    """One sandbox: a Salesforce org and a HubSpot portal seeded from the same dataset.

    ``reset()`` puts it back as it was right after seeding, in milliseconds: data, ids,
    faults (those it started with), stats, sessions, revocations, scopes, the integration
    user's permissions and the rate-limit counts; the credentials stay.
    """

    def __init__(
        self,
        dataset: SeedDataset,
        *,
        credentials: SandboxCredentials | None = None,
        faults: FaultSpec | None = None,
        hubspot_ten_secondly_limit: int = 1000,
        resettable: bool = False,
    ) -> None:
        self.credentials = credentials or SandboxCredentials()
        self.hubspot_ten_secondly_limit = hubspot_ten_secondly_limit
        self.store = SqlStore()
        self._start_faults = faults or FaultSpec()
        salesforce = SalesforceOrg(self.store, dataset)
        hubspot = HubSpotPortal(self.store, dataset)
        install_write_log(self.store)  # before the copy: a reset empties the log with the data
        # a copy of the seeded state costs as much memory again as the data: only on request
        self._seeded = SeededState(self.store, salesforce, hubspot) if resettable else None
        self._gate = RequestGate()
        self._serve(salesforce, hubspot)
        # the rules never change, only the handlers behind them: compiled once
        self.url_map = Map(
            [
                Rule(route.rule, endpoint=key, methods=list(route.methods), strict_slashes=False)
                for key, route in self._routes.items()
            ]
        )

    def reset(self) -> float:
        """Back to the state right after seeding (see the class); the seconds it took.

        Waits for the requests in flight and holds new ones until it is done.
        """
        seeded = self._seeded
        if seeded is None:
            raise NotResettable(
                "this sandbox keeps no copy of its seeded state; start it with "
                "`partner-kpi sandbox serve --resettable` (or start_sandbox(resettable=True))"
            )
        started = time.perf_counter()
        with self._gate.alone():
            self._serve(*seeded.restore())
        return time.perf_counter() - started

    def _serve(self, salesforce: SalesforceOrg, hubspot: HubSpotPortal) -> None:
        """The seeded org and portal, and all else that requests change as at the start."""
        self.salesforce, self.hubspot = salesforce, hubspot
        self.sessions = SessionRegistry()
        self.stats = SandboxStats()
        self.faults = FaultInjector(self._start_faults)
        self._limits = _Limits()
        self._hubspot_window: deque[float] = deque()
        self._limit_lock = threading.Lock()
        # the routes keep their own state (jobs, revocations, scopes): made anew with them
        routes = [
            *salesforce_routes(self),
            *hubspot_routes(self),
            *self._control_routes(),
        ]
        self._routes = {f"r{i}": route for i, route in enumerate(routes)}

    # --- WSGI ------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            with self._gate.request():
                response = self.dispatch(request)
        except DropConnection:
            connection = environ.get(CONNECTION_KEY)
            if isinstance(connection, socket.socket):
                # the client sees the connection end; the server closes the socket itself
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            response = Response(status=500)
        # the answering CRM's clock, which tests move forward (the server would stamp its own)
        response.headers["Date"] = http_date(self._clock_of(self._crm_of(request.path)))
        return response(environ, start_response)

    def _clock_of(self, crm: str) -> float:
        """Now by the org's clock on Salesforce routes, else by the portal's (epoch s)."""
        if crm == SALESFORCE:
            return self.salesforce.clock.now().timestamp()
        return self.hubspot.clock.now() / 1000

    def dispatch(self, request: Request) -> Response:
        crm = self._crm_of(request.path)
        if request.remote_addr not in LOOPBACK:
            return self._error(crm, 403, "FORBIDDEN", "the sandbox serves loopback clients only")
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            key, arguments = adapter.match()
        except NotFound:
            self.stats.request(crm, request.method, "(no route)")
            return self._error(crm, 404, "NOT_FOUND", "The requested resource does not exist")
        except MethodNotAllowed:
            self.stats.request(crm, request.method, "(method not allowed)")
            return self._error(crm, 405, "METHOD_NOT_ALLOWED", "HTTP method not allowed")
        route = self._routes[str(key)]
        self.stats.request(route.crm, request.method, route.rule)
        if route.crm == CONTROL:
            if not self.credentials.opens_control(bearer_token(request)):
                return json_response({"error": CONTROL_REFUSED}, 401)
            return route.handler(request, **arguments)
        fault = self._inject_faults(route.crm, writes_records(request.method, route.rule))
        if fault is not None:
            self.stats.status(route.crm, fault.status_code)
            return fault
        if route.auth and not self._authorised(route.crm, request):
            if route.crm == SALESFORCE:
                return self._error(
                    route.crm, 401, "INVALID_SESSION_ID", "Session expired or invalid"
                )
            return self._error(
                route.crm,
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        # logins and the version list do not count against the API quota, as in Salesforce
        quota = self._count_call(route.crm) if route.auth else None
        if quota is not None:
            self.stats.status(route.crm, quota.status_code)
            return quota
        response = route.handler(request, **arguments)
        if self.faults.fires("lost_response"):
            raise DropConnection  # applied, but the answer never reaches the client
        self._limit_headers(route.crm, response)
        self.stats.status(route.crm, response.status_code)
        return response

    # --- pieces of the pipeline ------------------------------------------------------

    @staticmethod
    def _crm_of(path: str) -> str:
        if path.startswith("/services/"):
            return SALESFORCE
        if path.startswith("/__sandbox/"):
            return CONTROL
        return HUBSPOT

    def _authorised(self, crm: str, request: Request) -> bool:
        token = bearer_token(request)
        if token is None:
            return False
        if crm == HUBSPOT:
            return token == self.credentials.hubspot_access_token
        return self.sessions.use(token, self.faults.spec.token_expiry_after)

    def _inject_faults(self, crm: str, writes: bool) -> Response | None:
        spec = self.faults.spec
        if spec.latency_ms:
            time.sleep(spec.latency_ms / 1000)
        if writes and spec.write_latency_ms:
            time.sleep(spec.write_latency_ms / 1000)
        if self.faults.fires("drop"):
            raise DropConnection
        if self.faults.fires("rate_limit"):
            if crm == HUBSPOT:
                return self._hubspot_429("TEN_SECONDLY_ROLLING", "ten_secondly_rolling")
            return self._error(
                crm, 403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
            )
        if self.faults.fires("server_error"):
            status = spec.server_error_status
            if crm == HUBSPOT:
                return json_response(
                    {
                        "status": "error",
                        "message": "internal error",
                        "correlationId": str(uuid.uuid4()),
                        "category": "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
                    },
                    status,
                )
            return self._error(crm, status, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        return None

    def _count_call(self, crm: str) -> Response | None:
        """Count a call against the daily quota and HubSpot's ten-second window."""
        limit = self.faults.spec.daily_limit
        now = time.monotonic()
        with self._limit_lock:
            if crm == SALESFORCE:
                if self._limits.salesforce_calls >= limit:
                    exhausted = True
                else:
                    # the org's other users spend the same daily quota (others_usage)
                    spent = 1 + self.faults.spec.others_usage
                    self._limits.salesforce_calls = min(self._limits.salesforce_calls + spent,
                                                        limit)  # fmt: skip
                    exhausted = False
            else:
                window = self._hubspot_window
                while window and now - window[0] >= HUBSPOT_WINDOW_SECONDS:
                    window.popleft()
                if self._limits.hubspot_calls >= limit:
                    return self._hubspot_429("DAILY", "daily")
                if len(window) >= self.hubspot_ten_secondly_limit:
                    return self._hubspot_429("TEN_SECONDLY_ROLLING", "ten_secondly_rolling")
                window.append(now)
                self._limits.hubspot_calls += 1
                exhausted = False
        if exhausted:
            return self._error(crm, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return None

    def salesforce_usage(self) -> tuple[int, int]:
        with self._limit_lock:
            return self._limits.salesforce_calls, self.faults.spec.daily_limit

    def _limit_headers(self, crm: str, response: Response) -> None:
        limit = self.faults.spec.daily_limit
        with self._limit_lock:
            if crm == SALESFORCE:
                response.headers["Sforce-Limit-Info"] = (
                    f"api-usage={self._limits.salesforce_calls}/{limit}"
                )
                return
            used_window = len(self._hubspot_window)
            used_daily = self._limits.hubspot_calls
        window_max = self.hubspot_ten_secondly_limit
        response.headers.update(
            {
                "X-HubSpot-RateLimit-Daily": str(limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(limit - used_daily, 0)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(
                    int(HUBSPOT_WINDOW_SECONDS * 1000)
                ),
                "X-HubSpot-RateLimit-Max": str(window_max),
                "X-HubSpot-RateLimit-Remaining": str(max(window_max - used_window, 0)),
                "X-HubSpot-RateLimit-Secondly": str(window_max // 10),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(
                    max(window_max // 10 - used_window // 10, 0)
                ),
            }
        )

    def _hubspot_429(self, policy: str, label: str) -> Response:
        return json_response(
            {
                "status": "error",
                "message": f"You have reached your {label} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
                "category": "RATE_LIMITS",
            },
            429,
            headers={"Retry-After": str(self.faults.spec.retry_after)},
        )

    @staticmethod
    def _error(crm: str, status: int, code: str, message: str) -> Response:
        if crm == HUBSPOT:
            return json_response(
                {
                    "status": "error",
                    "message": message,
                    "correlationId": str(uuid.uuid4()),
                    "category": code,
                },
                status,
            )
        return json_response([{"message": message, "errorCode": code}], status)

    # --- control endpoints ---------------------------------------------------------------

    def _control_routes(self) -> list[Route]:
        def stats(request: Request) -> Response:
            return json_response(self.stats.snapshot())

        def reset_stats(request: Request) -> Response:
            self.stats.reset()
            return json_response(self.stats.snapshot())

        def faults(request: Request) -> Response:
            if request.method == "POST":
                body = json_body(request)
                try:
                    if isinstance(body, dict):
                        spec = FaultSpec.from_mapping(body)
                    else:
                        spec = FaultSpec.parse(request.get_data(as_text=True))
                except FaultSpecError as exc:
                    return json_response({"error": str(exc)}, 400)
                self.faults.configure(spec)
                with self._limit_lock:
                    self._limits = _Limits()
                    self._hubspot_window.clear()
            return json_response(self.faults.spec.describe())

        def writes(request: Request) -> Response:
            return json_response(writes_by_record(self.store))

        def id_map(request: Request) -> Response:
            return json_response(
                {"salesforce": self.salesforce.id_map, "hubspot": self.hubspot.id_map}
            )

        def reset(request: Request) -> Response:
            try:
                return json_response({"seconds_to_reset": round(self.reset(), 3)})
            except NotResettable as refused:
                return json_response({"error": str(refused)}, 409)

        return [
            Route("/__sandbox/stats", ("GET",), CONTROL, stats),
            Route("/__sandbox/reset-stats", ("POST",), CONTROL, reset_stats),
            Route("/__sandbox/faults", ("GET", "POST"), CONTROL, faults),
            Route("/__sandbox/id-map", ("GET",), CONTROL, id_map),
            Route("/__sandbox/writes", ("GET",), CONTROL, writes),
            Route("/__sandbox/reset", ("POST",), CONTROL, reset),
        ]
