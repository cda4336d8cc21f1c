"""Decryption (both generations, rotating keys), ZIP checks and nested ZIPs."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from ingest_sge.client import (
    FluxArchiveError,
    FluxIncompleteError,
    FluxKey,
    FluxKeyError,
    check_archive,
    decrypt_file,
    iter_members,
    parse_keys,
)
from ingest_sge.mapping import parse_flux
from sge_emulator.fluxgen import Curve, flux_file, r50_records

K128, IV = os.urandom(16), os.urandom(16)
K256, OTHER256 = os.urandom(32), os.urandom(32)
PIECES = list(r50_records([Curve("12345678901234", date(2026, 1, 5), tuple([5] * 48))]))


def _keys(*keys: FluxKey) -> tuple[FluxKey, ...]:
    return keys


def _members(path: Path) -> list[tuple[str, int]]:
    return [(n, sum(1 for _ in parse_flux(s))) for n, s in iter_members(path)]


def test_aes128_with_fixed_iv(tmp_path: Path) -> None:
    f = flux_file(tmp_path / "ERDF_R50_x.zip", "R50.xml", PIECES, key=K128, iv=IV)
    used = decrypt_file(f, tmp_path / "out.zip", _keys(FluxKey("v1", K128, IV)))
    assert used == "v1"
    check_archive(tmp_path / "out.zip")
    assert _members(tmp_path / "out.zip") == [("R50.xml", 1)]


def test_aes256_with_iv_in_the_file_and_rotating_keys(tmp_path: Path) -> None:
    f = flux_file(tmp_path / "ERDF_R50_x.zip", "R50.xml", PIECES, key=K256)
    keys = _keys(
        FluxKey("old", OTHER256), FluxKey("v1", K128, IV), FluxKey("new", K256)
    )
    assert decrypt_file(f, tmp_path / "out.zip", keys) == "new"
    assert _members(tmp_path / "out.zip") == [("R50.xml", 1)]


def test_no_key_fits_is_a_clear_error_naming_the_keys_tried(tmp_path: Path) -> None:
    f = flux_file(tmp_path / "ERDF_R50_x.zip", "R50.xml", PIECES, key=K256)
    keys = _keys(FluxKey("old", OTHER256), FluxKey("v1", K128, IV))
    with pytest.raises(
        FluxKeyError, match=r"keys tried: old \(aes256\), v1 \(aes128\)"
    ):
        decrypt_file(f, tmp_path / "out.zip", keys)


def test_a_plain_zip_needs_no_key(tmp_path: Path) -> None:
    f = flux_file(tmp_path / "ENEDIS_R63.zip", "R50.xml", PIECES, key=None)
    assert decrypt_file(f, tmp_path / "out.zip", ()) == "plain"


@pytest.mark.parametrize("cut", [7, 32])
def test_a_truncated_file_is_incomplete_not_a_wrong_key(
    tmp_path: Path, cut: int
) -> None:
    f = flux_file(tmp_path / "ERDF_R50_x.zip", "R50.xml", PIECES, key=K256)
    data = f.read_bytes()
    f.write_bytes(data[:-cut])
    with pytest.raises(FluxIncompleteError):
        decrypt_file(f, tmp_path / "out.zip", _keys(FluxKey("new", K256)))


def test_a_truncated_plain_zip_is_refused(tmp_path: Path) -> None:
    f = flux_file(tmp_path / "x.zip", "R50.xml", PIECES, key=None)
    f.write_bytes(f.read_bytes()[:-30])
    with pytest.raises(FluxArchiveError):
        check_archive(f)


def test_nested_zips_are_opened(tmp_path: Path) -> None:
    f = flux_file(tmp_path / "C68.zip", "R50.xml", PIECES, key=K256, nested=True)
    decrypt_file(f, tmp_path / "out.zip", _keys(FluxKey("k", K256)))
    assert _members(tmp_path / "out.zip") == [("R50.xml", 1)]
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".zip"].count(
        "out.zip"
    ) == 1
    # the spooled inner ZIP is gone once read
    assert {p.name for p in tmp_path.iterdir()} == {"C68.zip", "out.zip"}


def test_keys_setting_syntax() -> None:
    k128, iv, k256 = K128.hex(), IV.hex(), K256.hex()
    keys = parse_keys(f"v1:{k128}:{iv}, v2:{k256}")
    assert [(k.key_id, k.cipher) for k in keys] == [("v1", "aes128"), ("v2", "aes256")]
    with pytest.raises(ValueError, match="16-byte IV"):
        parse_keys(f"v1:{k128}")
    with pytest.raises(ValueError, match="not hexadecimal"):
        parse_keys("v1:zz")
