"""HTTP Message Signatures (RFC 9421) with Ed25519, and Content-Digest (RFC 9530).

Small on purpose: one signature (label ``sig1``) over a fixed list of components,

    ("@method" "@target-uri" "content-digest");created=…;expires=…;nonce="…";
    keyid="<domain> <kid>";alg="ed25519"

so verification never has to decide which components "enough" are: a signature
that does not cover exactly these, or whose parameters are missing, is refused.
``@target-uri`` is rebuilt by the verifier from its own public URL (behind an
ingress the Host and scheme the pod sees are not what the peer signed).

:func:`verify` checks the digest of the body, the signature, the age and expiry;
the caller checks the key belongs to a live peer (``resolve``) and that the nonce
was never seen (the nonce store in PostgreSQL), since both need I/O.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

LABEL = "sig1"
COMPONENTS = ("@method", "@target-uri", "content-digest")
ALG = "ed25519"


class SignatureError(Exception):
    """A request or push whose signature is refused; ``reason`` is safe to return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` value for ``body`` (sha-256)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


_PARAMS_TAIL = (
    r";created=(?P<created>\d{1,12});expires=(?P<expires>\d{1,12})"
    r';nonce="(?P<nonce>[A-Za-z0-9_\-]{16,64})";keyid="(?P<keyid>[^"\\]{1,300})"'
    r';alg="(?P<alg>[a-z0-9-]+)"$'
)
"""The parameters after the component list, the same for requests and responses."""


@dataclass(frozen=True, slots=True)
class _SignatureParams:
    """The signature parameters (``@signature-params`` without the component list).

    Requests and responses carry the same fields; only the component list
    differs, so each kind is a subclass naming its own (``_components``) and a
    request's parameters can never be taken for a response's.
    """

    _components: ClassVar[str]

    created: int
    expires: int
    nonce: str
    keyid: str
    alg: str = ALG

    def serialize(self) -> str:
        return (
            f"({self._components});created={self.created};expires={self.expires}"
            f';nonce="{self.nonce}";keyid="{self.keyid}";alg="{self.alg}"'
        )

    @property
    def domain(self) -> str:
        """The signer's domain (keyid is ``"<domain> <kid>"``)."""
        return self.keyid.split(" ", 1)[0]

    @property
    def kid(self) -> str:
        parts = self.keyid.split(" ", 1)
        return parts[1] if len(parts) == 2 else ""


_P = TypeVar("_P", bound=_SignatureParams)


def _new_params(
    cls: type[_P], keyid: str, now: datetime, ttl: timedelta, nonce: str | None
) -> _P:
    created = int(now.timestamp())
    return cls(
        created=created,
        expires=created + int(ttl.total_seconds()),
        nonce=nonce or secrets.token_urlsafe(18),
        keyid=keyid,
    )


def _signed_headers(
    key: Ed25519PrivateKey, digest: str, params: _SignatureParams, base: bytes
) -> dict[str, str]:
    raw = key.sign(base)
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params.serialize()}",
        "Signature": f"{LABEL}=:{base64.b64encode(raw).decode()}:",
    }


def _parse(
    cls: type[_P], form: re.Pattern[str], signature_input: str, missing: str
) -> _P:
    m = form.match(signature_input.strip())
    if m is None:
        raise SignatureError(missing)
    if m["alg"] != ALG:
        raise SignatureError("unsupported alg")
    return cls(
        created=int(m["created"]),
        expires=int(m["expires"]),
        nonce=m["nonce"],
        keyid=m["keyid"],
        alg=m["alg"],
    )


@dataclass(frozen=True, slots=True)
class _Refusals:
    """What a refused request or response is told (they word it differently)."""

    digest: str
    no_signature: str
    bad_signature: str
    future: str
    stale: str


def _check(
    headers: Mapping[str, str],
    body: bytes,
    public_key: Ed25519PublicKey,
    base: Callable[[str], bytes],
    created: int,
    expires: int,
    now: datetime,
    max_age: timedelta,
    skew: timedelta,
    refusals: _Refusals,
) -> None:
    """Digest, signature over ``base(digest)``, then freshness."""
    digest = headers.get("content-digest", "")
    if digest != content_digest(body):
        raise SignatureError(refusals.digest)
    m = _SIGNATURE.match(headers.get("signature", "").strip())
    if m is None:
        raise SignatureError(refusals.no_signature)
    try:
        raw = base64.b64decode(m["sig"], validate=True)
        public_key.verify(raw, base(digest))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError(refusals.bad_signature) from exc
    t = int(now.timestamp())
    if created > t + int(skew.total_seconds()):
        raise SignatureError(refusals.future)
    if t - created > int(max_age.total_seconds()) or t >= expires:
        raise SignatureError(refusals.stale)


@dataclass(frozen=True, slots=True)
class Params(_SignatureParams):
    """A request signature's parameters."""

    _components: ClassVar[str] = " ".join(f'"{c}"' for c in COMPONENTS)


def signature_base(method: str, target_uri: str, digest: str, params: Params) -> bytes:
    """RFC 9421 §2.5 signature base for our components."""
    lines = [
        f'"@method": {method.upper()}',
        f'"@target-uri": {target_uri}',
        f'"content-digest": {digest}',
        f'"@signature-params": {params.serialize()}',
    ]
    return "\n".join(lines).encode()


def sign(
    key: Ed25519PrivateKey,
    *,
    keyid: str,
    method: str,
    target_uri: str,
    body: bytes,
    now: datetime,
    ttl: timedelta = timedelta(minutes=5),
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign this request: Content-Digest, Signature-Input, Signature."""
    params = _new_params(Params, keyid, now, ttl, nonce)
    digest = content_digest(body)
    base = signature_base(method, target_uri, digest, params)
    return _signed_headers(key, digest, params, base)


_INPUT = re.compile(
    r'^sig1=\("@method" "@target-uri" "content-digest"\)' + _PARAMS_TAIL
)
_SIGNATURE = re.compile(r"^sig1=:(?P<sig>[A-Za-z0-9+/=]{1,200}):$")


def parse_params(signature_input: str) -> Params:
    """Reads ``Signature-Input``; only our exact form is accepted."""
    return _parse(
        Params,
        _INPUT,
        signature_input,
        "Signature-Input does not cover the required components",
    )


@dataclass(frozen=True, slots=True)
class Verified:
    """A signature that holds: who signed, with which nonce, until when."""

    params: Params
    signature: str
    """The ``Signature`` header value (kept as provenance of inbound data)."""


_REQUEST_REFUSALS = _Refusals(
    digest="Content-Digest does not match the body",
    no_signature="no Signature",
    bad_signature="signature does not verify",
    future="signature created in the future",
    stale="stale signature",
)


def verify(
    headers: Mapping[str, str],
    *,
    method: str,
    target_uri: str,
    body: bytes,
    public_key: Ed25519PublicKey,
    params: Params,
    now: datetime,
    max_age: timedelta,
    skew: timedelta,
) -> Verified:
    """Checks digest, signature, freshness; raises :class:`SignatureError`."""
    _check(
        headers,
        body,
        public_key,
        lambda digest: signature_base(method, target_uri, digest, params),
        params.created,
        params.expires,
        now,
        max_age,
        skew,
        _REQUEST_REFUSALS,
    )
    if params.expires - params.created > int(max_age.total_seconds()):
        raise SignatureError("signature lives longer than allowed")
    return Verified(params, headers["signature"])


# ---------------------------------------------------------------- responses
#
# A pull answer is signed too (RFC 9421 §2.4, signing a response): the signature
# covers the status, the digest of the body, and the REQUEST's signature
# (``"signature";req;key="sig1"``), so an answer cannot be replayed to another
# request nor moved between peers, and a tampered body or status is refused by
# the puller. Same key, keyid form and parameters as requests.

RESPONSE_COMPONENTS = '"@status" "content-digest" "signature";req;key="sig1"'


@dataclass(frozen=True, slots=True)
class ResponseParams(_SignatureParams):
    """A response signature's parameters (same fields as a request's)."""

    _components: ClassVar[str] = RESPONSE_COMPONENTS


def _request_signature_value(request_signature: str) -> str:
    """The ``sig1`` member of the request's ``Signature`` field (``:b64:``)."""
    m = _SIGNATURE.match(request_signature.strip())
    if m is None:
        raise SignatureError("the request carries no signature to bind to")
    return f":{m['sig']}:"


def response_signature_base(
    status: int, digest: str, request_signature: str, params: ResponseParams
) -> bytes:
    lines = [
        f'"@status": {status}',
        f'"content-digest": {digest}',
        f'"signature";req;key="sig1": {_request_signature_value(request_signature)}',
        f'"@signature-params": {params.serialize()}',
    ]
    return "\n".join(lines).encode()


def sign_response(
    key: Ed25519PrivateKey,
    *,
    keyid: str,
    status: int,
    body: bytes,
    request_signature: str,
    now: datetime,
    ttl: timedelta = timedelta(minutes=5),
) -> dict[str, str]:
    """Headers that sign a response to a signed request."""
    params = _new_params(ResponseParams, keyid, now, ttl, None)
    digest = content_digest(body)
    base = response_signature_base(status, digest, request_signature, params)
    return _signed_headers(key, digest, params, base)


_RESPONSE_INPUT = re.compile(
    r'^sig1=\("@status" "content-digest" "signature";req;key="sig1"\)' + _PARAMS_TAIL
)


def parse_response_params(signature_input: str) -> ResponseParams:
    return _parse(
        ResponseParams,
        _RESPONSE_INPUT,
        signature_input,
        "response Signature-Input missing or not the required form",
    )


_RESPONSE_REFUSALS = _Refusals(
    digest="response Content-Digest does not match the body",
    no_signature="response carries no Signature",
    bad_signature="response signature does not verify",
    future="response signature created in the future",
    stale="stale response signature",
)


def verify_response(
    headers: Mapping[str, str],
    *,
    status: int,
    body: bytes,
    request_signature: str,
    public_key: Ed25519PublicKey,
    params: ResponseParams,
    now: datetime,
    max_age: timedelta,
    skew: timedelta,
) -> None:
    """Checks a response's digest, signature (bound to our request) and freshness."""
    _check(
        headers,
        body,
        public_key,
        lambda digest: response_signature_base(
            status, digest, request_signature, params
        ),
        params.created,
        params.expires,
        now,
        max_age,
        skew,
        _RESPONSE_REFUSALS,
    )
