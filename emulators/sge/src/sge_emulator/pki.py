"""The throw-away PKI of the emulator: one CA, a server and a client certificate.

Why: SGE authenticates Tiers by mutual TLS only, so a faithful emulator must
refuse a handshake without a client certificate. The CA is generated once into
the state folder and reused, so the ingest service and the tests started later
can trust it and present the client certificate it issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from emulator_kit import pki as kit

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
    ca = kit.new_authority(
        "SEN1 SGE emulator CA", organization="SEN1 emulators", days=days, now=now
    )
    server, server_key = kit.issue(
        ca,
        SERVER_NAMES[0],
        ExtendedKeyUsageOID.SERVER_AUTH,
        dns_names=SERVER_NAMES,
        ip_addresses=SERVER_IPS,
        days=days,
        now=now,
    )
    client, client_key = kit.issue(
        ca, "sen1-demo tiers", ExtendedKeyUsageOID.CLIENT_AUTH, days=days, now=now
    )
    kit.write_private_key(pki.ca_key, ca.key)
    kit.write_private_key(pki.server_key, server_key)
    kit.write_private_key(pki.client_key, client_key)
    pki.server_pem.write_bytes(kit.pem(server, ca.certificate))
    pki.client_pem.write_bytes(kit.pem(client, ca.certificate))
    pki.ca_pem.write_bytes(kit.pem(ca.certificate))
    return pki
