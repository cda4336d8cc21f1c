"""Encryption at rest for secrets and tokens (Fernet: AES-128-CBC + HMAC-SHA256).

Services keep upstream tokens, API-key material and webhook secrets in PostgreSQL
only as ciphertext produced here; the key comes from settings, never from the DB.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from energy_core.errors import PermanentError


class SecretBoxError(PermanentError):
    """A ciphertext that no configured key can open (tampered or wrong key)."""


class SecretBox:
    """Encrypts and decrypts short secrets; several keys allow rotation.

    Example::

        box = SecretBox([settings.secret_key.get_secret_value()])
        stored = box.seal("access-token")
        assert box.open(stored) == "access-token"
    """

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    @staticmethod
    def generate_key() -> str:
        """A new random key (urlsafe base64, 32 bytes)."""
        return Fernet.generate_key().decode()

    def seal(self, plaintext: str) -> str:
        """Encrypts with the first (current) key."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, ciphertext: str) -> str:
        """Decrypts with any configured key; raises SecretBoxError otherwise."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError(
                "secret cannot be decrypted with the keys given"
            ) from exc
