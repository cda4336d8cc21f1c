"""Signed HTTP to peers (no SQL, no Kafka): requests and pushes carry an RFC 9421
signature made with our current key; peers' public keys come from their JWKS and
are accepted only when their thumbprint is pinned in our registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from energy_core.errors import PermanentError, TransientError
from federation_gateway.keys import Keyring, key_from_jwk
from federation_gateway.signatures import sign


class PeerRefusedError(PermanentError):
    """The peer answered 4xx: retrying the same message will not help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"peer refused with {status}")
        self.status = status
        self.body = body


class PeerUnavailableError(TransientError):
    """The peer did not answer, or answered 5xx: retry later."""


class PeerClient:
    """Sends signed requests as ``domain`` with the keyring's current key."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        domain: str,
        keyring: Keyring,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.http = http
        self.domain = domain
        self.keyring = keyring
        self.clock = clock

    def signed_headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        key = self.keyring.current()
        return sign(
            key.private,
            keyid=f"{self.domain} {key.kid}",
            method=method,
            target_uri=url,
            body=body,
            now=self.clock(),
        )

    async def post(self, url: str, payload: Any) -> Any:
        """POSTs ``payload`` as JSON, signed; returns the decoded answer."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            **self.signed_headers("POST", url, body),
        }
        try:
            response = await self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerUnavailableError(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise PeerUnavailableError(f"peer answered {response.status_code}")
        if response.status_code >= 400:
            raise PeerRefusedError(response.status_code, response.text[:500])
        return response.json() if response.content else None


async def fetch_keys(
    http: httpx.AsyncClient, base_url: str, pinned: tuple[str, ...]
) -> dict[str, Ed25519PublicKey]:
    """The peer's published keys whose thumbprint is pinned (others ignored)."""
    try:
        response = await http.get(base_url.rstrip("/") + "/.well-known/jwks.json")
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise PeerUnavailableError("JWKS unavailable") from exc
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in document.get("keys", []) if isinstance(document, dict) else []:
        try:
            key = key_from_jwk(jwk)
        except ValueError:
            continue
        kid = str(jwk.get("kid", ""))
        if kid in pinned:
            keys[kid] = key
    return keys
