"""The kit's certificates make real TLS handshakes (in memory, no sockets)."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from emulator_kit import pki

SERVER = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH


def _files(tmp_path: Path, name: str, chain: bytes, key) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(chain)
    pki.write_private_key(key_file, key)
    return str(cert_file), str(key_file)


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, host: str) -> None:
    """Drives both ends of one TLS handshake through memory BIOs."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client_end = client.wrap_bio(c_in, c_out, server_hostname=host)
    server_end = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, end in (("client", client_end), ("server", server_end)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            s_in.write(c_out.read())
            c_in.write(s_out.read())
        if all(done.values()):
            # TLS 1.3: the server checks the client certificate on its next read.
            client_end.write(b"x")
            s_in.write(c_out.read())
            assert server_end.read(1) == b"x"
            return
    raise AssertionError("the handshake did not finish")


@pytest.fixture
def mutual(tmp_path: Path):  # type: ignore[no-untyped-def]
    ca = pki.new_authority("test CA", organization="SEN1 tests", days=2)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(pki.pem(ca.certificate))
    server_cert, server_key = pki.issue(
        ca, "api.example", SERVER, dns_names=("api.example",), ip_addresses=("127.0.0.1",), days=1
    )  # fmt: skip
    client_cert, client_key = pki.issue(ca, "tiers", CLIENT, days=1)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(*_files(tmp_path, "server", pki.pem(server_cert, ca.certificate), server_key))  # fmt: skip
    server.load_verify_locations(cafile=str(ca_file))
    server.verify_mode = ssl.CERT_REQUIRED
    client = ssl.create_default_context(cafile=str(ca_file))
    client.load_cert_chain(*_files(tmp_path, "client", pki.pem(client_cert, ca.certificate), client_key))  # fmt: skip
    return ca, server, client, ca_file


def test_server_and_client_certificates_pass_a_mutual_handshake(mutual) -> None:  # type: ignore[no-untyped-def]
    _, server, client, _ = mutual
    _handshake(server, client, "api.example")


def test_a_name_not_in_the_certificate_is_refused(mutual) -> None:  # type: ignore[no-untyped-def]
    _, server, client, _ = mutual
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server, client, "other.example")


def test_a_client_without_a_certificate_of_this_ca_is_refused(mutual) -> None:  # type: ignore[no-untyped-def]
    _, server, _, ca_file = mutual
    stranger = ssl.create_default_context(cafile=str(ca_file))
    with pytest.raises(ssl.SSLError):
        _handshake(server, stranger, "api.example")


def test_names_usages_and_validity() -> None:
    now = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    ca = pki.new_authority("SEN1 CA", organization="SEN1", days=1, now=now)
    assert ca.name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "SEN1"
    assert ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca  # fmt: skip
    leaf, _ = pki.issue(ca, "h", SERVER, dns_names=("h", "i"), ip_addresses=("::1",), days=30, now=now)  # fmt: skip
    assert leaf.issuer == ca.name
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["h", "i"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["::1"]
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([SERVER])  # fmt: skip
    assert leaf.not_valid_before_utc == now - timedelta(minutes=5)
    # asked for 30 days, capped at the CA's one
    assert leaf.not_valid_after_utc == ca.certificate.not_valid_after_utc == now + timedelta(days=1)  # fmt: skip
    client, _ = pki.issue(ca, "tiers", CLIENT, days=1, now=now)
    with pytest.raises(x509.ExtensionNotFound):
        client.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_private_keys_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    ca = pki.new_authority("CA", days=1)
    path = tmp_path / "ca.key"
    pki.write_private_key(path, ca.key)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_chain_is_the_certificates_in_order() -> None:
    ca = pki.new_authority("CA", days=1)
    leaf, _ = pki.issue(ca, "tiers", CLIENT, days=1)
    chain = x509.load_pem_x509_certificates(pki.pem(leaf, ca.certificate))
    assert chain == [leaf, ca.certificate]
