"""An HTTPS forward proxy that answers for GRDF's hosts with the emulator.

Why: clients written for GRDF hard-code ``https://api.grdf.fr/adict/v2`` and
the two token hosts (lowatt-grdf keeps them in class attributes, with no
setting). Every HTTP library honours the standard proxy and CA settings
(``HTTPS_PROXY`` and, for requests, ``REQUESTS_CA_BUNDLE``), so pointing such a
client at this proxy and trusting its CA sends its unchanged requests to the
emulator. Only ``CONNECT`` to the GRDF hosts on 443 is accepted: the proxy
terminates TLS with a certificate for those names, signed by a throw-away CA
it generates, and relays the plain HTTP to the emulator's port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from emulator_kit import pki

GRDF_HOSTS = (
    "api.grdf.fr",
    "adict-connexion.grdf.fr",
    "sofit-sso-oidc.grdf.fr",
)


@dataclass(frozen=True, slots=True)
class Certificates:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_certificates(
    directory: Path, hosts: tuple[str, ...] = GRDF_HOSTS
) -> Certificates:
    """A CA and a server certificate for ``hosts`` (one day, EC P-256) in ``directory``."""
    now = datetime.now(UTC)
    ca = pki.new_authority("SEN1 GRDF emulator CA", days=1, now=now)
    cert, key = pki.issue(
        ca,
        hosts[0],
        ExtendedKeyUsageOID.SERVER_AUTH,
        dns_names=hosts,
        ip_addresses=("127.0.0.1",),
        days=1,
        now=now,
    )
    directory.mkdir(parents=True, exist_ok=True)
    out = Certificates(
        directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    )
    out.ca_pem.write_bytes(pki.pem(ca.certificate))
    out.cert_pem.write_bytes(pki.pem(cert))
    pki.write_private_key(out.key_pem, key)
    return out


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class InterceptProxy:
    """``CONNECT api.grdf.fr:443`` -> TLS as that host -> the emulator's HTTP port."""

    def __init__(
        self,
        certificates: Certificates,
        emulator_host: str,
        emulator_port: int,
        hosts: tuple[str, ...] = GRDF_HOSTS,
    ) -> None:
        self.hosts = hosts
        self.target = (emulator_host, emulator_port)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certificates.cert_pem, certificates.key_pem)
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, host, port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        method, _, rest = head.decode("latin-1").partition(" ")
        authority = rest.partition(" ")[0]
        name, _, port = authority.rpartition(":")
        if method != "CONNECT" or name not in self.hosts or port != "443":
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await writer.start_tls(self.context)
            upstream_reader, upstream_writer = await asyncio.open_connection(
                *self.target
            )
        except (ConnectionError, ssl.SSLError, OSError):
            writer.close()
            return
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer)
        )
