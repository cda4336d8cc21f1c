"""The identity of a collective: Ed25519 signing keys, rotation with overlap, JWKS.

A key is named by its RFC 7638 JWK thumbprint (base64url SHA-256 of the canonical
``{"crv","kty","x"}``), so the ``kid`` a peer sees in a signature *is* the
fingerprint its operator pins: there is no second name to keep in step.

Rotation: :meth:`Keyring.rotate` makes a new key current and retires the previous
one, which keeps verifying (and stays in the published JWKS) for
``overlap`` seconds; peers that cached our JWKS keep accepting our messages while
they pick up the new key. Private keys are stored only sealed with
:class:`energy_core.secrets.SecretBox` (the deployment's ``SEN1_SECRET_KEY``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from energy_core.secrets import SecretBox


def b64url(data: bytes) -> str:
    """Unpadded base64url (JOSE)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ValueError on bad input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 bytes of an Ed25519 public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of the OKP JWK: the ``kid`` and the pinned fingerprint."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw_public(key))},
        separators=(",", ":"),
        sort_keys=True,
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as an OKP/Ed25519 JWK with its kid."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(raw_public(key)),
        "kid": thumbprint(key),
        "alg": "EdDSA",
        "use": "sig",
    }


def key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """Reads an OKP/Ed25519 JWK; refuses any other kind (no algorithm confusion)."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an OKP/Ed25519 key")
    raw = b64url_decode(str(jwk.get("x", "")))
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    key = Ed25519PublicKey.from_public_bytes(raw)
    if "kid" in jwk and jwk["kid"] != thumbprint(key):
        raise ValueError("kid is not the key's thumbprint")
    return key


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One of our keys: current while ``retired_at`` is None."""

    private: Ed25519PrivateKey
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def kid(self) -> str:
        return thumbprint(self.public)

    def seal(self, box: SecretBox) -> str:
        """The private key sealed for storage (raw 32 bytes, base64url, then Fernet)."""
        raw = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return box.seal(b64url(raw))

    @staticmethod
    def unseal(
        box: SecretBox,
        sealed: str,
        created_at: datetime,
        retired_at: datetime | None = None,
    ) -> SigningKey:
        raw = b64url_decode(box.open(sealed))
        return SigningKey(
            Ed25519PrivateKey.from_private_bytes(raw), created_at, retired_at
        )

    @staticmethod
    def generate(now: datetime) -> SigningKey:
        return SigningKey(Ed25519PrivateKey.generate(), now)


class NoSigningKeyError(RuntimeError):
    """The keyring has no current key (the gateway creates one at start)."""


class Keyring:
    """Our keys: one current (signs), retired ones verify until the overlap ends."""

    def __init__(self, keys: list[SigningKey], *, overlap: timedelta) -> None:
        self._keys = list(keys)
        self.overlap = overlap

    @property
    def keys(self) -> list[SigningKey]:
        return list(self._keys)

    def current(self) -> SigningKey:
        live = [k for k in self._keys if k.retired_at is None]
        if not live:
            raise NoSigningKeyError("no current signing key")
        return max(live, key=lambda k: k.created_at)

    def published(self, now: datetime) -> list[SigningKey]:
        """Keys that still verify at ``now``: the current one and those inside the
        overlap after their retirement."""
        return [
            k
            for k in self._keys
            if k.retired_at is None or now < k.retired_at + self.overlap
        ]

    def jwks(self, now: datetime) -> dict[str, list[dict[str, str]]]:
        """The document of ``/.well-known/jwks.json``."""
        return {"keys": [public_jwk(k.public) for k in self.published(now)]}

    def rotate(self, now: datetime) -> tuple[SigningKey, list[SigningKey]]:
        """A new current key; the previous current ones retired at ``now``.

        Returns (the new key, the keys retired) for the caller to store.
        """
        retired = [
            SigningKey(k.private, k.created_at, now)
            for k in self._keys
            if k.retired_at is None
        ]
        fresh = SigningKey.generate(now)
        kept = [k for k in self._keys if k.retired_at is not None]
        self._keys = [*kept, *retired, fresh]
        return fresh, retired
