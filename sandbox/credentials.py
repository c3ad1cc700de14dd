"""The sandbox's secrets, generated fresh at every start, and its live sessions."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property

from sandbox.salesforce.jwt_grant import SigningKey


@dataclass(frozen=True)
class SandboxCredentials:
    """What a client needs to log in; printed once, in the ready line, and nowhere else."""

    sf_client_id: str = field(default_factory=lambda: "3MVG9" + secrets.token_urlsafe(48))
    sf_client_secret: str = field(default_factory=lambda: secrets.token_hex(32).upper())
    sf_username: str = "sandbox@partner-kpi.local"
    sf_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    sf_security_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    sf_refresh_token: str = field(default_factory=lambda: "5Aep" + secrets.token_urlsafe(60))
    hubspot_access_token: str = field(default_factory=lambda: f"pat-na1-{uuid.uuid4()}")
    #: opens the sandbox's own /__sandbox/ control routes, and nothing else (no CRM token does)
    control_token: str = field(default_factory=lambda: "sbx-ctl-" + secrets.token_urlsafe(32))

    @cached_property
    def sf_jwt_key(self) -> SigningKey:
        """The connected app's key pair for the JWT bearer grant, made when first asked
        for (an RSA key costs a tenth of a second, most starts never need one)."""
        return SigningKey.generate()

    def salesforce(self) -> dict[str, str]:
        return {
            "client_id": self.sf_client_id,
            "client_secret": self.sf_client_secret,
            "username": self.sf_username,
            "password": self.sf_password,
            "security_token": self.sf_security_token,
            "refresh_token": self.sf_refresh_token,
        }

    def hubspot(self) -> dict[str, str]:
        return {"access_token": self.hubspot_access_token}

    def control(self) -> dict[str, str]:
        return {"token": self.control_token}

    def opens_control(self, token: str | None) -> bool:
        """Whether ``token`` is the control token (compared in constant time)."""
        return token is not None and secrets.compare_digest(token, self.control_token)


@dataclass
class _Session:
    issued_at: float
    calls: int = 0


class SessionRegistry:
    """Salesforce access tokens issued by the token endpoint, and their expiry.

    A session expires when the ``token_expiry`` fault says so (after N calls),
    or when revoked; an expired token gets INVALID_SESSION_ID, as in Salesforce.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = "00D5g000001sAndbox!" + secrets.token_urlsafe(72)
        with self._lock:
            self._sessions[token] = _Session(issued_at=time.time())
        return token

    def use(self, token: str, expire_after_calls: int | None) -> bool:
        """Count a call on ``token``; False when it is unknown or has expired."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return False
            session.calls += 1
            if expire_after_calls is not None and session.calls > expire_after_calls:
                del self._sessions[token]
                return False
            return True

    def expire_all(self) -> None:
        with self._lock:
            self._sessions.clear()
