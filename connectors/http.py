"""HTTP sessions for the connectors: a custom CA bundle that the environment cannot override."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import requests

from core.errors import ConfigError


class CaBundleSession(requests.Session):
    """A requests session that trusts exactly the configured CA bundle.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment replace a
    session's ``verify`` (psf/requests#3829); on machines that set them, a sandbox or
    corporate-proxy CA configured for partner-kpi would be ignored. Proxies from
    the environment still apply.
    """

    def __init__(self, ca_bundle: Path | str | None = None) -> None:
        super().__init__()
        if ca_bundle is not None:
            self.verify = str(ca_bundle)

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: Any,
    ) -> Any:
        settings = super().merge_environment_settings(url, proxies or {}, stream, verify, cert)
        if isinstance(self.verify, str) and verify in (None, True):
            settings["verify"] = self.verify
        return settings


def ca_bundle_file(ca_bundle: Path | None) -> Path | None:
    """``crm.ca_bundle`` checked before any request: ConfigError when it names no file
    (a client library would fail deep inside its first request instead)."""
    if ca_bundle is not None and not ca_bundle.is_file():
        raise ConfigError(
            "crm.ca_bundle", f"{ca_bundle} is not a file; point it at a PEM file of CAs"
        )
    return ca_bundle


def session_for(
    ca_bundle: Path | str | None, headers: Mapping[str, str] | None = None
) -> CaBundleSession:
    """A session that trusts ``ca_bundle`` (or the system CAs when None)."""
    session = CaBundleSession(ca_bundle)
    if headers:
        session.headers.update(headers)
    return session
