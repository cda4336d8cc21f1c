"""Keys: thumbprints, JWKS, rotation with overlap, sealed at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from energy_core.secrets import SecretBox, SecretBoxError
from federation_gateway.keys import Keyring, SigningKey, key_from_jwk, public_jwk

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_rfc7638_thumbprint_of_the_rfc8037_example_key() -> None:
    # RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    }
    assert public_jwk(key_from_jwk(jwk))["kid"] == (
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    )


def test_rotation_keeps_the_old_key_published_for_the_overlap() -> None:
    ring = Keyring([SigningKey.generate(NOW)], overlap=timedelta(days=7))
    old = ring.current()
    fresh, retired = ring.rotate(NOW + timedelta(days=1))
    assert [k.kid for k in retired] == [old.kid]
    assert ring.current().kid == fresh.kid != old.kid
    kids = lambda t: {k["kid"] for k in ring.jwks(t)["keys"]}  # noqa: E731
    assert kids(NOW + timedelta(days=7)) == {old.kid, fresh.kid}
    assert kids(NOW + timedelta(days=8)) == {fresh.kid}


def test_jwks_holds_public_parts_only() -> None:
    ring = Keyring([SigningKey.generate(NOW)], overlap=timedelta())
    (jwk,) = ring.jwks(NOW)["keys"]
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert key_from_jwk(jwk)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "n": "x", "e": "AQAB"},
        {
            "kty": "OKP",
            "crv": "X25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        },
        {"kty": "OKP", "crv": "Ed25519", "x": "short"},
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "kid": "not-the-thumbprint",
        },
    ],
)
def test_other_keys_are_refused(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"key|kid|32 bytes|base64"):
        key_from_jwk(jwk)


def test_a_key_is_stored_sealed_and_opens_only_with_the_secret() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    key = SigningKey.generate(NOW)
    sealed = key.seal(box)
    assert key.kid not in sealed
    assert SigningKey.unseal(box, sealed, NOW).kid == key.kid
    with pytest.raises(SecretBoxError):
        SigningKey.unseal(SecretBox([Fernet.generate_key().decode()]), sealed, NOW)
