"""Throw-away certificates: one CA and the leaf certificates it signs.

Why: an emulator that stands in for an upstream over TLS (SGE's mutual TLS, the
GRDF intercepting proxy) needs a CA that the client under test can be told to
trust, and certificates for the upstream's real host names. Nothing here is
meant to protect anything: the keys are written unencrypted (mode 0600) so that
the emulator, the ingest service and the tests started later can all read them.
EC P-256 keys and SHA-256 signatures: what every TLS stack accepts, fast to make.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CLOCK_SKEW = timedelta(minutes=5)
"""Certificates are valid from a little before now: a peer whose clock is a few
seconds behind must not see them as not yet valid."""


@dataclass(frozen=True, slots=True)
class Authority:
    """A CA: its self-signed certificate and the key that signs the leaves."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject


def new_authority(
    common_name: str,
    *,
    organization: str | None = None,
    days: int,
    now: datetime | None = None,
) -> Authority:
    """A self-signed CA that may sign leaves only (``path_length=0``)."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization is not None:
        attributes.insert(
            0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)
        )
    name = x509.Name(attributes)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate, key)


def issue(
    authority: Authority,
    common_name: str,
    usage: x509.ObjectIdentifier,
    *,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    days: int,
    now: datetime | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A leaf certificate for one extended key usage (server or client auth).

    The subject alternative names are the DNS names then the IP addresses; a
    leaf without any (a client certificate) carries no such extension. A leaf
    never outlives its CA: its end is capped at the CA's.
    """
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(authority.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(
            min(
                now + timedelta(days=days),
                authority.certificate.not_valid_after_utc,
            )
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                authority.key.public_key()
            ),
            critical=False,
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(names), critical=False
        )
    return builder.sign(authority.key, hashes.SHA256()), key


def pem(*certificates: x509.Certificate) -> bytes:
    """The certificates in PEM, one after the other (a chain: leaf first)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """The key in unencrypted PKCS#8 PEM, readable by its owner only."""
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
