"""The OAuth 2.0 JWT bearer grant, as Salesforce checks it.

The connected app holds a certificate; the client signs an assertion (RS256)
whose ``iss`` is the app's consumer key, ``sub`` the username, ``aud`` the
login server and ``exp`` a few minutes ahead. Salesforce answers HTTP 400 with
``invalid_client_id`` for an unknown issuer and ``invalid_grant`` for the rest
("audience is invalid", "expired authorization code" for a stale ``exp``,
"invalid assertion" for a bad signature or shape, "user hasn't approved this
consumer" for a subject it does not know).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Audiences Salesforce accepts besides the server's own URL.
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
#: Seconds of clock skew allowed on ``exp``.
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class GrantRefused:
    """Why an assertion was refused: the OAuth error and its description."""

    error: str
    description: str


@dataclass(frozen=True)
class SigningKey:
    """The connected app's key pair: the sandbox checks with the public half; the private
    half is written to a file for the client, as an admin hands out a key."""

    private_pem: bytes
    public_pem: bytes

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private_pem=private_pem, public_pem=public_pem)

    def write_private(self, path: Path) -> Path:
        """The private key as a PEM file only its owner can read."""
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_bytes(self.private_pem)
        return path


def check_assertion(
    assertion: str,
    *,
    public_pem: bytes,
    client_id: str,
    username: str,
    server_url: str,
) -> GrantRefused | None:
    """None when Salesforce would issue a token for ``assertion``, else why not."""
    try:
        claims = jwt.decode(
            assertion,
            public_pem,
            algorithms=["RS256"],
            options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        return GrantRefused("invalid_grant", "expired authorization code")
    except jwt.PyJWTError:
        return GrantRefused("invalid_grant", "invalid assertion")
    if claims.get("iss") != client_id:
        return GrantRefused("invalid_client_id", "client identifier invalid")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    accepted = {server_url.rstrip("/"), *LOGIN_AUDIENCES}
    if not any(str(a).rstrip("/") in accepted for a in audiences):
        return GrantRefused("invalid_grant", "audience is invalid")
    if claims.get("sub") != username:
        return GrantRefused("invalid_grant", "user hasn't approved this consumer")
    return None
