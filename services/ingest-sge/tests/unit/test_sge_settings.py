"""Settings refuse what would fail later: malformed keys, an unpinned remote drop."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest_sge.settings import Settings


def test_malformed_flux_keys_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="16-byte IV"):
        Settings(flux_keys="v1:" + "00" * 16)  # type: ignore[arg-type]


def test_a_remote_drop_needs_a_pinned_host_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="KNOWN_HOSTS"):
        Settings(sftp_host="sftp.example.org")
    pinned = Settings(sftp_host="sftp.example.org", sftp_known_hosts=tmp_path / "kh")
    assert pinned.sftp_target().known_hosts == tmp_path / "kh"


def test_no_soap_client_without_kit_and_certificate(tmp_path: Path) -> None:
    assert Settings().soap_config() is None
    config = Settings(
        soap_wsdl_dir=tmp_path,
        soap_cert_file=tmp_path / "c.pem",
        soap_key_file=tmp_path / "k.pem",
        soap_base_url="https://sge-homologation-ws.enedis.fr",
    ).soap_config()
    assert config is not None
    assert config.base_url == "https://sge-homologation-ws.enedis.fr"


def test_the_drop_folders_and_the_attempts_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = Settings().sftp_target()
    assert "*R4Q*.zip" in target.patterns  # C1-C4 daily curves
    assert target.bulk_dir == "R63_R64_R65_R66_R67_C68"  # enedis.md §3.1
    assert "*C68*.zip" in target.bulk_patterns
    assert not any("R67" in p for p in target.bulk_patterns)  # not mapped
    monkeypatch.setenv("INGEST_SGE_SFTP_BULK_DIR", "orders")
    monkeypatch.setenv("INGEST_SGE_MAX_ATTEMPTS", "2")
    settings = Settings()
    assert (settings.sftp_target().bulk_dir, settings.max_attempts) == ("orders", 2)
    with pytest.raises(ValidationError):
        Settings(max_attempts=0)
