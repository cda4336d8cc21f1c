"""RFC 9421 signatures: what verifies and every way it must not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation_gateway.signatures import (
    SignatureError,
    content_digest,
    parse_params,
    parse_response_params,
    sign,
    sign_response,
    verify,
    verify_response,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
URL = "https://b.example/federation/v1/query"
KEY = Ed25519PrivateKey.generate()


def _signed(body: bytes = b'{"a":1}', **kw: object) -> dict[str, str]:
    args: dict[str, object] = {
        "keyid": "a.example kid1",
        "method": "POST",
        "target_uri": URL,
        "body": body,
        "now": NOW,
    }
    args.update(kw)
    return {k.lower(): v for k, v in sign(KEY, **args).items()}  # type: ignore[arg-type]


def _verify(headers: dict[str, str], body: bytes = b'{"a":1}', **kw: object) -> None:
    args: dict[str, object] = {
        "method": "POST",
        "target_uri": URL,
        "body": body,
        "public_key": KEY.public_key(),
        "params": parse_params(headers["signature-input"]),
        "now": NOW + timedelta(seconds=5),
        "max_age": timedelta(minutes=5),
        "skew": timedelta(seconds=30),
    }
    args.update(kw)
    verify(headers, **args)  # type: ignore[arg-type]


def test_content_digest_is_rfc9530_sha256() -> None:
    # RFC 9530 appendix B example: {"hello": "world"}
    assert content_digest(b'{"hello": "world"}') == (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


def test_a_signed_request_verifies_and_names_its_signer() -> None:
    headers = _signed()
    params = parse_params(headers["signature-input"])
    assert (params.domain, params.kid, params.alg) == ("a.example", "kid1", "ed25519")
    assert '("@method" "@target-uri" "content-digest")' in headers["signature-input"]
    _verify(headers)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"a":2}'}, "Content-Digest does not match the body"),
        ({"method": "GET"}, "signature does not verify"),
        ({"target_uri": URL + "?x=1"}, "signature does not verify"),
        ({"public_key": Ed25519PrivateKey.generate().public_key()}, "does not verify"),
        ({"now": NOW + timedelta(minutes=6)}, "stale signature"),
        ({"now": NOW - timedelta(minutes=2)}, "signature created in the future"),
    ],
)
def test_every_change_is_refused(change: dict[str, object], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        _verify(_signed(), **change)


def test_a_digest_rewritten_with_the_body_still_fails_the_signature() -> None:
    headers = _signed()
    headers["content-digest"] = content_digest(b'{"a":2}')
    with pytest.raises(SignatureError, match="does not verify"):
        _verify(headers, body=b'{"a":2}')


def test_changed_parameters_break_the_signature() -> None:
    headers = _signed()
    headers["signature-input"] = headers["signature-input"].replace(
        "a.example", "c.example"
    )
    with pytest.raises(SignatureError, match="does not verify"):
        _verify(headers)


@pytest.mark.parametrize(
    "signature_input",
    [
        'sig1=("@method" "content-digest");created=1;expires=2;nonce="aaaaaaaaaaaaaaaa";keyid="a b";alg="ed25519"',
        'sig1=("@method" "@target-uri" "content-digest");created=1;expires=2;nonce="aaaaaaaaaaaaaaaa";keyid="a b";alg="hmac-sha256"',
        'sig1=("@method" "@target-uri" "content-digest");created=1;expires=2;keyid="a b";alg="ed25519"',
        "",
    ],
)
def test_other_forms_are_refused(signature_input: str) -> None:
    with pytest.raises(SignatureError):
        parse_params(signature_input)


def test_a_signature_living_longer_than_allowed_is_refused() -> None:
    with pytest.raises(SignatureError, match="longer than allowed"):
        _verify(_signed(ttl=timedelta(hours=1)))


# ---------------------------------------------------------------- responses


def _answer(
    body: bytes = b"[]", status: int = 200, request: str | None = None
) -> tuple[dict[str, str], str]:
    request = request or _signed()["signature"]
    headers = sign_response(
        KEY,
        keyid="b.example kid2",
        status=status,
        body=body,
        request_signature=request,
        now=NOW,
    )
    return {k.lower(): v for k, v in headers.items()}, request


def _check(
    headers: dict[str, str],
    request: str,
    body: bytes = b"[]",
    status: int = 200,
    now: datetime = NOW,
) -> None:
    verify_response(
        headers,
        status=status,
        body=body,
        request_signature=request,
        public_key=KEY.public_key(),
        params=parse_response_params(headers["signature-input"]),
        now=now,
        max_age=timedelta(minutes=5),
        skew=timedelta(seconds=30),
    )


def test_a_signed_response_verifies_and_names_its_signer() -> None:
    headers, request = _answer()
    _check(headers, request)
    params = parse_response_params(headers["signature-input"])
    assert (params.domain, params.kid) == ("b.example", "kid2")
    assert headers["signature-input"].startswith(
        'sig1=("@status" "content-digest" "signature";req;key="sig1")'
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'[{"v":1}]'}, "Content-Digest"),
        ({"status": 203}, "does not verify"),
        ({"now": NOW + timedelta(minutes=6)}, "stale"),
    ],
)
def test_a_changed_response_is_refused(change: dict[str, object], reason: str) -> None:
    headers, request = _answer()
    with pytest.raises(SignatureError, match=reason):
        _check(headers, request, **change)  # type: ignore[arg-type]


def test_a_response_to_another_request_is_refused() -> None:
    """An answer replayed to a later request does not verify: it is bound to the
    signature of the request it answered."""
    headers, _ = _answer()
    other = _signed(nonce="another-nonce-0123456789")["signature"]
    with pytest.raises(SignatureError, match="does not verify"):
        _check(headers, other)


def test_a_forged_digest_with_a_matching_body_is_refused() -> None:
    headers, request = _answer()
    forged = b'[{"v":999}]'
    headers["content-digest"] = content_digest(forged)
    with pytest.raises(SignatureError, match="does not verify"):
        _check(headers, request, body=forged)
