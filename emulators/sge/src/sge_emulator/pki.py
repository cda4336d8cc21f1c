"""The throw-away PKI of the emulator: one CA, a server and a client certificate.

Why: SGE authenticates Tiers by mutual TLS only, so a faithful emulator must
refuse a handshake without a client certificate. The CA is generated once into
the state folder and reused, so the ingest service and the tests started later
can trust it and present the client certificate it issued.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = (
    "sge-ws.enedis.fr",
    "sge-homologation-ws.enedis.fr",
    "sge-b2b.enedis.fr",
    "localhost",
)
SERVER_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class Pki:
    """Paths of the PEM files in the state folder."""

    ca_pem: Path
    ca_key: Path
    server_pem: Path
    server_key: Path
    client_pem: Path
    """The client certificate followed by the CA (a full chain, as lowatt wants)."""
    client_key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure_pki(directory: Path, *, days: int = 825) -> Pki:
    """Creates the CA and both certificates in ``directory`` unless they exist."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(
        ca_pem=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_pem=directory / "server.pem",
        server_key=directory / "server.key",
        client_pem=directory / "client.pem",
        client_key=directory / "client.key",
    )
    if all(
        p.exists()
        for p in (
            pki.ca_pem,
            pki.server_pem,
            pki.server_key,
            pki.client_pem,
            pki.client_key,
        )
    ):
        return pki
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SEN1 emulators"),
            x509.NameAttribute(NameOID.COMMON_NAME, "SEN1 SGE emulator CA"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
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
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    def issue(
        common_name: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
            )
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(
                x509.BasicConstraints(ca=False, path_length=None), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(sans), critical=False
            )
        return builder.sign(ca_key, hashes.SHA256()), key

    server, server_key = issue(
        SERVER_NAMES[0],
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName(n) for n in SERVER_NAMES]
        + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS],
    )
    client, client_key = issue("sen1-demo tiers", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    _write_key(pki.ca_key, ca_key)
    _write_key(pki.server_key, server_key)
    _write_key(pki.client_key, client_key)
    pki.server_pem.write_bytes(_pem(server) + _pem(ca))
    pki.client_pem.write_bytes(_pem(client) + _pem(ca))
    pki.ca_pem.write_bytes(_pem(ca))
    return pki
