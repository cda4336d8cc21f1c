"""Decryption of SGE flux files and the opening of their (nested) ZIPs, streamed.

Two generations exist (enedis.md §3.1): AES-128-CBC with a fixed IV given with
the key, and AES-256-CBC with the IV in the first 16 bytes of each file; keys
rotate. The key of a file is found by trying the configured keys: the right one
turns the first block into the ZIP magic ``PK\\x03\\x04`` and leaves a valid
PKCS7 padding at the end. No key passing both is a :class:`FluxKeyError` naming
the keys tried: the file is dead-lettered with that reason, never skipped.
A file that already starts with the ZIP magic is a plain ZIP ("ZIP direct").

Decryption runs file to file in chunks, and ZIP members (nested ZIPs are spooled
to a temporary file) are read as streams: memory does not grow with the file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from energy_core.errors import PayloadInvalidError, PermanentError, TransientError

ZIP_MAGIC = b"PK\x03\x04"
_BLOCK = 16
_CHUNK = 1 << 20
_MAX_NESTING = 4


class FluxKeyError(PermanentError):
    """No configured key decrypts the file (wrong or missing key)."""


class FluxIncompleteError(TransientError):
    """A key gives the ZIP magic but the file ends early (still being written or
    cut): asked again at the next poll, never recorded as processed."""


class FluxArchiveError(PayloadInvalidError):
    """The decrypted content is not a readable ZIP (truncated, corrupt)."""


@dataclass(frozen=True, slots=True)
class FluxKey:
    """One decryption key: AES-128 with its fixed IV, or AES-256 (IV in the file)."""

    key_id: str
    key: bytes
    iv: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.key) == 16:
            if self.iv is None or len(self.iv) != 16:
                raise ValueError(f"key {self.key_id}: AES-128 needs a 16-byte IV")
        elif len(self.key) == 32:
            if self.iv is not None:
                raise ValueError(f"key {self.key_id}: AES-256 takes its IV from files")
        else:
            raise ValueError(f"key {self.key_id}: 16 (AES-128) or 32 bytes (AES-256)")

    @property
    def cipher(self) -> str:
        """``aes128`` (fixed IV) or ``aes256`` (IV in the file's first block)."""
        return "aes128" if len(self.key) == 16 else "aes256"


def parse_keys(spec: str) -> tuple[FluxKey, ...]:
    """``id:hexkey[:hexiv],…`` -> keys, in the order they are tried.

    ``2026b:<64 hex>`` is an AES-256 key; ``v1:<32 hex>:<32 hex>`` an AES-128 key
    with its fixed IV.
    """
    keys: list[FluxKey] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, rest = item.partition(":")
        hexkey, _, hexiv = rest.partition(":")
        try:
            key = bytes.fromhex(hexkey)
            iv = bytes.fromhex(hexiv) if hexiv else None
        except ValueError as exc:
            raise ValueError(f"flux key {key_id!r}: not hexadecimal") from exc
        keys.append(FluxKey(key_id, key, iv))
    return tuple(keys)


def _first_block(path: Path, key: FluxKey) -> bytes:
    with path.open("rb") as source:
        head = source.read(3 * _BLOCK)
    if key.iv is not None:
        iv, body = key.iv, head[:_BLOCK]
    else:
        iv, body = head[:_BLOCK], head[_BLOCK : 2 * _BLOCK]
    if len(body) < _BLOCK:
        return b""
    decryptor = Cipher(algorithms.AES(key.key), modes.CBC(iv)).decryptor()
    return decryptor.update(body)


def _decrypt_to(source: Path, target: Path, key: FluxKey) -> bool:
    """Decrypts ``source`` into ``target``; False if the padding is not PKCS7."""
    size = source.stat().st_size
    offset = 0 if key.iv is not None else _BLOCK
    if (size - offset) % _BLOCK or size - offset < _BLOCK:
        return False
    with source.open("rb") as src, target.open("wb") as out:
        iv = key.iv if key.iv is not None else src.read(_BLOCK)
        decryptor = Cipher(algorithms.AES(key.key), modes.CBC(iv)).decryptor()
        held = b""  # the last block is written only once its padding is checked
        while chunk := src.read(_CHUNK):
            plain = held + decryptor.update(chunk)
            held, ready = plain[-_BLOCK:], plain[:-_BLOCK]
            out.write(ready)
        held += decryptor.finalize()
        pad = held[-1] if held else 0
        if not 1 <= pad <= _BLOCK or held[-pad:] != bytes([pad]) * pad:
            return False
        out.write(held[:-pad])
    return True


def decrypt_file(source: Path, target: Path, keys: tuple[FluxKey, ...]) -> str:
    """Writes the ZIP inside ``source`` to ``target``; returns the key id used.

    ``"plain"`` when the file is a ZIP already. Raises :class:`FluxKeyError`
    when no key gives the ZIP magic and a valid padding.
    """
    with source.open("rb") as src:
        if src.read(len(ZIP_MAGIC)) == ZIP_MAGIC:
            shutil.copyfile(source, target)
            return _whole(source, target, "plain")
    matched: list[str] = []
    for key in keys:
        if not _first_block(source, key).startswith(ZIP_MAGIC):
            continue
        if _decrypt_to(source, target, key):
            return _whole(source, target, key.key_id)
        matched.append(key.key_id)
    if matched:
        raise FluxIncompleteError(
            f"{source.name}: key {matched[0]} opens it but its end is missing"
        )
    tried = ", ".join(f"{k.key_id} ({k.cipher})" for k in keys) or "none configured"
    raise FluxKeyError(
        f"no flux key decrypts {source.name} into a ZIP (keys tried: {tried})"
    )


def _whole(source: Path, target: Path, key_id: str) -> str:
    """The ZIP ends with its central directory, else the file was cut."""
    if not zipfile.is_zipfile(target):
        raise FluxIncompleteError(
            f"{source.name}: opened with key {key_id} but its ZIP has no end"
        )
    return key_id


def check_archive(path: Path) -> None:
    """The ZIP's central directory is readable: a truncated file fails here.

    The CRC of each member is checked as it is read (``zipfile`` raises at the
    end of a member whose CRC differs), so a corrupt body is refused as well.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if not archive.namelist():
                raise FluxArchiveError(f"{path.name}: empty ZIP")
    except (zipfile.BadZipFile, OSError) as exc:
        raise FluxArchiveError(f"{path.name}: not a readable ZIP ({exc})") from exc


class _Member:
    """A ZIP member's stream whose CRC or inflate failure is a FluxArchiveError.

    zipfile checks a member's CRC when its end is read, i.e. inside the XML
    parser: the error must say "archive", not escape as a foreign exception.
    """

    def __init__(self, name: str, stream: IO[bytes]) -> None:
        self.name = name
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the member (``zipfile`` semantics)."""
        try:
            return self._stream.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise FluxArchiveError(f"{self.name}: corrupt ZIP member ({exc})") from exc


def iter_members(path: Path, *, depth: int = 0) -> Iterator[tuple[str, _Member]]:
    """Yields ``(member name, stream)`` of every non-ZIP member, nested ZIPs opened.

    Each stream is valid until the next item is requested. A nested ZIP is
    spooled to a temporary file (ZIP needs seeking), never read into memory.
    """
    if depth > _MAX_NESTING:
        raise FluxArchiveError(f"ZIPs nested deeper than {_MAX_NESTING}")
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                with archive.open(info) as member:
                    head = member.read(len(ZIP_MAGIC))
                if head == ZIP_MAGIC:
                    fd, spooled = tempfile.mkstemp(suffix=".zip", dir=path.parent)
                    os.close(fd)
                    try:
                        with (
                            archive.open(info) as member,
                            open(spooled, "wb") as out,
                        ):
                            shutil.copyfileobj(member, out, _CHUNK)
                        yield from iter_members(Path(spooled), depth=depth + 1)
                    finally:
                        os.unlink(spooled)
                    continue
                with archive.open(info) as stream:
                    yield info.filename, _Member(info.filename, stream)
    except zipfile.BadZipFile as exc:
        raise FluxArchiveError(f"{path.name}: corrupt ZIP ({exc})") from exc
