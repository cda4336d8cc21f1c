"""Flux encryption as Enedis delivers it: ZIP first, then AES-CBC with PKCS7.

Two generations: the legacy AES-128-CBC with a fixed IV given with the key, and
AES-256-CBC whose IV is the first 16 bytes of each file. Keys rotate: the
emulator knows several ``version:key`` pairs and encrypts with the current one,
so a client must try its keys (the ZIP magic after decryption tells it which
one fits) and fail loudly when none does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


@dataclass(frozen=True, slots=True)
class FluxKey:
    version: int
    key: bytes


def parse_keys(spec: str) -> dict[int, FluxKey]:
    """``"1:hex,2:hex"`` → keys by version."""
    keys: dict[int, FluxKey] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        version, _, hexkey = item.strip().partition(":")
        key = bytes.fromhex(hexkey)
        if len(key) not in (16, 32):
            raise ValueError(f"flux key {version} must be 16 or 32 bytes")
        keys[int(version)] = FluxKey(int(version), key)
    if not keys:
        raise ValueError("no flux key configured")
    return keys


class EncryptingWriter:
    """A write-only file object that encrypts as it goes (bounded memory).

    ``zipfile`` writes to it as to an unseekable stream, so a flux file of any
    size is produced without being held whole in memory.
    """

    def __init__(
        self, sink: BinaryIO, key: bytes, *, cipher: str, iv: bytes | None = None
    ) -> None:
        if cipher == "aes128":
            if len(key) != 16 or iv is None or len(iv) != 16:
                raise ValueError("aes128 needs a 16-byte key and a fixed 16-byte IV")
        elif cipher == "aes256":
            if len(key) != 32:
                raise ValueError("aes256 needs a 32-byte key")
            iv = os.urandom(16)
            sink.write(iv)
        else:
            raise ValueError(f"unknown cipher {cipher}")
        if iv is None:  # unreachable: both branches set it
            raise ValueError("no IV")
        self._sink = sink
        self._encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        self._padder = padding.PKCS7(128).padder()
        self._written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._sink.write(self._encryptor.update(self._padder.update(bytes(data))))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        self._sink.flush()

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if self.closed:
            return
        self._sink.write(
            self._encryptor.update(self._padder.finalize()) + self._encryptor.finalize()
        )
        self._sink.flush()
        self.closed = True


def encrypt(data: bytes, key: bytes, *, cipher: str, iv: bytes | None = None) -> bytes:
    """Whole-buffer form of :class:`EncryptingWriter` (small files, tests)."""
    import io

    sink = io.BytesIO()
    writer = EncryptingWriter(sink, key, cipher=cipher, iv=iv)
    writer.write(data)
    writer.close()
    return sink.getvalue()


def decrypt(data: bytes, key: bytes, *, cipher: str, iv: bytes | None = None) -> bytes:
    """The inverse, strict on padding: a wrong key is an error, except for the ~1 in
    256 garbage that ends in valid PKCS7 (a reader checks the ZIP magic too)."""
    if cipher == "aes256":
        iv, data = data[:16], data[16:]
    if iv is None:
        raise ValueError("aes128 needs the fixed IV")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()
