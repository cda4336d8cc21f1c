"""Signed HTTP to peers (no SQL, no Kafka): requests and pushes carry an RFC 9421
signature made with our current key; peers' public keys come from their JWKS and
are accepted only when their thumbprint is pinned in our registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from energy_core.errors import PermanentError, TransientError
from federation_gateway.keys import Keyring, key_from_jwk
from federation_gateway.signatures import (
    SignatureError,
    parse_response_params,
    sign,
    verify_response,
)

QUERY_PATH = "/federation/v1/query"


class PeerRefusedError(PermanentError):
    """The peer answered 4xx: retrying the same message will not help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"peer refused with {status}")
        self.status = status
        self.body = body


class PeerUnavailableError(TransientError):
    """The peer did not answer, or answered 5xx: retry later."""


class UnsignedAnswerError(PermanentError):
    """A pull answer whose signature is missing, not from the peer's pinned keys,
    stale, or does not match the body: the data is refused, never stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"answer refused: {reason}")
        self.reason = reason


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
        self._keys: dict[tuple[str, str], Ed25519PublicKey] = {}
        """Peers' pinned public keys, to verify their answers."""

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

    async def pull(
        self,
        *,
        peer_domain: str,
        base_url: str,
        pinned: tuple[str, ...],
        urn: str,
        start: datetime,
        end: datetime,
        max_age: timedelta = timedelta(minutes=5),
        skew: timedelta = timedelta(seconds=30),
    ) -> list[dict[str, Any]]:
        """A signed query whose answer must be signed by ``peer_domain`` with one of
        its ``pinned`` keys and bound to this very request (else
        :class:`UnsignedAnswerError`)."""
        url = base_url.rstrip("/") + QUERY_PATH
        body = json.dumps(
            {"urn": urn, "start": start.isoformat(), "end": end.isoformat()},
            separators=(",", ":"),
        ).encode()
        signed = self.signed_headers("POST", url, body)
        try:
            response = await self.http.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", **signed},
            )
        except httpx.HTTPError as exc:
            raise PeerUnavailableError(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise PeerUnavailableError(f"peer answered {response.status_code}")
        if response.status_code >= 400:
            raise PeerRefusedError(response.status_code, response.text[:500])
        try:
            params = parse_response_params(response.headers.get("signature-input", ""))
            if params.domain != peer_domain:
                raise SignatureError("answer signed by another domain")
            key = await self._peer_key(peer_domain, base_url, pinned, params.kid)
            if key is None:
                raise SignatureError("answer signed with a key not pinned")
            verify_response(
                response.headers,
                status=response.status_code,
                body=response.content,
                request_signature=signed["Signature"],
                public_key=key,
                params=params,
                now=self.clock(),
                max_age=max_age,
                skew=skew,
            )
        except SignatureError as exc:
            raise UnsignedAnswerError(exc.reason) from exc
        records = json.loads(response.content)
        if not isinstance(records, list):
            raise UnsignedAnswerError("answer is not a SenML pack")
        return records

    async def _peer_key(
        self, domain: str, base_url: str, pinned: tuple[str, ...], kid: str
    ) -> Ed25519PublicKey | None:
        if kid not in pinned:
            return None
        if (domain, kid) not in self._keys:
            for k, key in (await fetch_keys(self.http, base_url, pinned)).items():
                self._keys[(domain, k)] = key
        return self._keys.get((domain, kid))


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
