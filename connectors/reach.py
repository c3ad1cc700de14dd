"""Why a request never reached the CRM, read from the exception a client library raised.

Both client libraries (requests for Salesforce, hubspot-api-client) fail through urllib3,
so one reader serves both. Three answers, each handled its own way by the wire:

- no connection (refused, no such host, no route, no connection in time): a few quick
  tries, since a server restarting is back in seconds and a wrong URL or a stopped sandbox
  never is; then ``CrmUnreachable`` naming the URL;
- the server's TLS certificate is for another host: the URL is wrong, no retry helps;
- the certificate is signed by a CA the bundle does not trust: ``crm.ca_bundle`` is wrong;
- the server does not speak TLS at all (plain HTTP on that port): the URL is wrong.

A connection that was made and then lost is none of these: it is retried in full.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3.exceptions

#: What OpenSSL says when no CA in the bundle signed the server's certificate.
UNTRUSTED_CA = "CERTIFICATE_VERIFY_FAILED"
#: OpenSSL's verify codes for a certificate issued to another host name or IP address.
OTHER_HOST = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
#: OpenSSL's reasons when the answer to the TLS hello is not TLS (a plain-HTTP server).
NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})
#: Hosts of a CRM on this machine: the sandbox (it binds to 127.0.0.1 only).
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class NoConnection:
    """No connection could be made: the code and words for it, and the URL tried."""

    code: str
    reason: str
    #: scheme://host:port of the connection attempted, when the error names it
    url: str | None


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every error it was raised from or wraps (urllib3's ``reason``), once each."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        for linked in (current.__cause__, current.__context__, reason):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _url_of(error: BaseException) -> str | None:
    """The URL of the urllib3 connection a connect error names (its ``conn`` or first arg)."""
    conn: Any = getattr(error, "conn", None) or (error.args[0] if error.args else None)
    host = getattr(conn, "host", None)
    if not isinstance(host, str):
        return None
    scheme = getattr(conn, "scheme", None) or (
        "https" if isinstance(conn, urllib3.connection.HTTPSConnection) else "http"
    )
    port = getattr(conn, "port", None)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port else "")


def no_connection(exc: BaseException) -> NoConnection | None:
    """What kept the request from connecting, or None when a connection was made."""
    url: str | None = None
    for error in causes(exc):
        if isinstance(error, urllib3.exceptions.ProtocolError | ssl.SSLError):
            return None  # connected, then lost or refused by TLS: not a missing server
        url = url or _url_of(error)
        if isinstance(error, ConnectionRefusedError):
            return NoConnection("CONNECTION_REFUSED", "connection refused", url)
        if isinstance(error, socket.gaierror | urllib3.exceptions.NameResolutionError):
            return NoConnection("HOST_NOT_FOUND", "the host name does not resolve", url)
        if isinstance(error, OSError) and error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return NoConnection("NO_ROUTE", "no route to the host", url)
        if isinstance(error, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
            error, urllib3.exceptions.NewConnectionError
        ):
            return NoConnection("CONNECT_TIMEOUT", "no connection accepted in time", url)
    return None


def _certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    for error in causes(exc):
        if isinstance(error, ssl.SSLCertVerificationError):
            return error
    return None


def wrong_host(exc: BaseException) -> str | None:
    """OpenSSL's words when the server's certificate is for another host name, else None."""
    error = _certificate_error(exc)
    if error is None or getattr(error, "verify_code", None) not in OTHER_HOST:
        return None
    return str(getattr(error, "verify_message", "") or error)


def not_tls(exc: BaseException) -> bool:
    """Whether the server answered the TLS hello with something that is not TLS."""
    return any(
        isinstance(error, ssl.SSLError) and getattr(error, "reason", None) in NOT_TLS
        for error in causes(exc)
    )


def untrusted_ca(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, is a failed certificate check."""
    if _certificate_error(exc) is not None:
        return True
    return any(UNTRUSTED_CA in str(error) for error in causes(exc))


def lost_connection(exc: BaseException) -> str:
    """A short account of a connection lost mid-request: the innermost error's words."""
    innermost = list(causes(exc))[-1]
    said = str(innermost).splitlines()[0][:160] if str(innermost) else ""
    name = type(innermost).__name__
    return f"the connection was lost ({name}{': ' + said if said else ''})"


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (where only a sandbox CRM would be)."""
    return (urlsplit(url).hostname or "") in LOOPBACK
