"""Who is calling: residents and operators (password → session), cities (API key).

Passwords are hashed with argon2 (argon2-cffi). Session tokens and API keys are
long random strings; only their SHA-256 digest is stored, so a database leak gives
no usable credential. Tokens are prefixed (``sen1s_`` session, ``sen1k_`` key) so a
caller's header says what it carries.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_PREFIX = "sen1s_"
KEY_PREFIX = "sen1k_"
COOKIE = "sen1_session"
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("timing-equaliser")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: kind is resident, operator, city, alerts or public.

    ``alerts`` is the alert system's own key (scope ``alerts``, no territory);
    ``key_id`` names the API key a city or the alert system called with.
    """

    kind: str
    account_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    scope: str | None = None
    scope_id: str | None = None
    key_id: uuid.UUID | None = None
    """The API key behind a city (or peer) caller: who to name in the access log."""


PUBLIC = Principal("public")


def digest(token: str) -> str:
    """SHA-256 hex digest of a token: what the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(stored, password))
    except (VerificationError, InvalidHashError):  # wrong password, or a bad hash
        return False


def hash_password(password: str) -> str:
    """An argon2id hash (salt and parameters included)."""
    return _HASHER.hash(password)


async def login(
    conn: asyncpg.Connection, *, email: str, password: str, ttl: timedelta
) -> str | None:
    """A new session token if the credentials hold, else None (same timing)."""
    row = await conn.fetchrow(
        "SELECT account_id, password_hash FROM api_accounts WHERE email = $1",
        email.strip().lower(),
    )
    # argon2 takes ~0.1 s of CPU on purpose: in a thread (it releases the GIL), or
    # every login would freeze every other request and SSE stream of the process.
    stored = row["password_hash"] if row else _DUMMY
    if not await asyncio.to_thread(_verify, stored, password) or row is None:
        return None
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_sessions (token_sha256, account_id, expires_at) "
        "VALUES ($1, $2, $3)",
        digest(token),
        row["account_id"],
        datetime.now(UTC) + ttl,
    )
    return token


async def logout(conn: asyncpg.Connection, token: str) -> None:
    """Ends a session."""
    await conn.execute(
        "DELETE FROM api_sessions WHERE token_sha256 = $1", digest(token)
    )


async def resolve(conn: asyncpg.Connection, token: str) -> Principal | None:
    """The principal behind a session token or an API key; None if unknown/expired."""
    if token.startswith(KEY_PREFIX):
        row = await conn.fetchrow(
            "SELECT key_id, scope, scope_id FROM api_keys "
            "WHERE key_sha256 = $1 AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > now())",
            digest(token),
        )
        if row is None:
            return None
        return Principal(
            "alerts" if row["scope"] == "alerts" else "city",
            scope=row["scope"],
            scope_id=row["scope_id"],
            key_id=row["key_id"],
        )
    row = await conn.fetchrow(
        """SELECT a.account_id, a.person_id, a.role FROM api_sessions s
           JOIN api_accounts a USING (account_id)
           WHERE s.token_sha256 = $1 AND s.expires_at > now()""",
        digest(token),
    )
    if row is None:
        return None
    return Principal(
        row["role"], account_id=row["account_id"], person_id=row["person_id"]
    )


async def create_account(
    conn: asyncpg.Connection,
    *,
    email: str,
    password: str,
    role: str,
    person_id: uuid.UUID | None = None,
    password_hash: str | None = None,
) -> uuid.UUID:
    """Creates (or re-keys) an account; idempotent on the e-mail address.

    ``password_hash`` lets a caller seeding many accounts with one password hash it
    once (argon2 is slow on purpose: ~0.1 s each).
    """
    account_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO api_accounts (email, password_hash, role, person_id)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash,
               role = EXCLUDED.role, person_id = EXCLUDED.person_id
           RETURNING account_id""",
        email.strip().lower(),
        password_hash or hash_password(password),
        role,
        person_id,
    )
    return account_id


async def create_api_key(
    conn: asyncpg.Connection,
    *,
    label: str,
    scope: str,
    scope_id: str | None,
    expires_at: datetime | None = None,
    created_by: uuid.UUID | None = None,
) -> str:
    """A new key; the clear value is returned once and never stored.

    ``hint`` keeps the prefix and 4 characters of it, so that a list of keys can
    be matched against the one a city holds without storing anything usable.
    """
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_keys (key_sha256, label, scope, scope_id, expires_at, "
        "created_by, hint) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        digest(key),
        label,
        scope,
        scope_id,
        expires_at,
        created_by,
        key[: len(KEY_PREFIX) + 4],
    )
    return key
