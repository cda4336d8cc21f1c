"""API keys, managed by operators: create (shown once), list, rotate, revoke, expiry.

A key is scoped to a commune or one neighbourhood (a city's dashboard: aggregates
of its territory only) or is the alert system's own key (scope ``alerts``). Only
the SHA-256 of a key is stored (``api.auth``); an expired or revoked key is
refused like an unknown one (401). Keys and residents cannot manage keys: a key
that could mint keys would outlive its own revocation.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from api import auth
from api.deps import Operator, PoolDep, SettingsDep
from api.problems import Problem
from api.settings import Settings

router = APIRouter(prefix="/v1/keys", tags=["keys"])
Scope = Literal["commune", "neighbourhood", "alerts"]
_SCOPE_IDS = {
    "commune": r"^(\d{2}|2A|2B)\d{3}$",
    "neighbourhood": r"^(\d{2}|2A|2B)\d{7}$",
}


class KeyIn(BaseModel):
    label: str = Field(min_length=1, max_length=200)
    scope: Scope
    scope_id: str | None = Field(
        default=None,
        max_length=9,
        description="INSEE code of the commune or IRIS code; none for `alerts`",
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, description="default API_KEY_TTL_DAYS"
    )

    @model_validator(mode="after")
    def _scope_id_fits(self) -> KeyIn:
        pattern = _SCOPE_IDS.get(self.scope)
        if pattern is None:
            if self.scope_id is not None:
                raise ValueError("an alerts key has no scope_id")
        elif self.scope_id is None or not re.fullmatch(pattern, self.scope_id):
            raise ValueError(f"scope_id must match {pattern} for scope {self.scope}")
        return self


class RotateIn(BaseModel):
    expires_in_days: int | None = Field(default=None, ge=1)


class KeyPublic(BaseModel):
    key_id: uuid.UUID
    label: str
    scope: Scope
    scope_id: str | None
    hint: str = Field(description="the key's first characters, to tell keys apart")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: uuid.UUID | None
    state: Literal["active", "expired", "revoked"]


class KeyCreated(KeyPublic):
    key: str = Field(description="the key itself: shown once, never stored")


class KeyPage(BaseModel):
    items: list[KeyPublic]


_COLUMNS = (
    "key_id, label, scope, scope_id, hint, created_at, expires_at, revoked_at, "
    "replaced_by, CASE WHEN revoked_at IS NOT NULL THEN 'revoked' "
    "WHEN expires_at <= now() THEN 'expired' ELSE 'active' END AS state"
)


def _expiry(settings: Settings, days: int | None) -> datetime:
    days = days or settings.key_ttl_days
    if days > settings.key_max_ttl_days:
        raise Problem(
            422,
            f"a key lives at most {settings.key_max_ttl_days} days "
            "(API_KEY_MAX_TTL_DAYS)",
            kind="validation",
        )
    return datetime.now(UTC) + timedelta(days=days)


async def _issue(
    conn: asyncpg.Connection,
    *,
    label: str,
    scope: str,
    scope_id: str | None,
    expires_at: datetime,
    created_by: uuid.UUID | None,
) -> KeyCreated:
    key = await auth.create_api_key(
        conn,
        label=label,
        scope=scope,
        scope_id=scope_id,
        expires_at=expires_at,
        created_by=created_by,
    )
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM api_keys WHERE key_sha256 = $1",  # noqa: S608 - constant
        auth.digest(key),
    )
    return KeyCreated(**dict(row), key=key)


@router.post("", status_code=201)
async def create(
    body: KeyIn, user: Operator, pool: PoolDep, settings: SettingsDep
) -> KeyCreated:
    """A new key; its value is in this answer only."""
    expires_at = _expiry(settings, body.expires_in_days)
    async with pool.acquire() as conn:
        if body.scope == "commune":
            known = await conn.fetchval(
                "SELECT 1 FROM communes WHERE insee = $1", body.scope_id
            )
        elif body.scope == "neighbourhood":
            known = await conn.fetchval(
                "SELECT 1 FROM neighbourhoods WHERE iris = $1", body.scope_id
            )
        else:
            known = True
        if not known:
            raise Problem(422, f"unknown {body.scope}", kind="validation")
        return await _issue(
            conn,
            label=body.label,
            scope=body.scope,
            scope_id=body.scope_id,
            expires_at=expires_at,
            created_by=user.account_id,
        )


@router.get("")
async def list_keys(
    user: Operator,
    pool: PoolDep,
    include_inactive: Annotated[bool, Query()] = False,
) -> KeyPage:
    """Every key (never its value), newest first; expired and revoked on request."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM api_keys
                WHERE $1 OR (revoked_at IS NULL
                             AND (expires_at IS NULL OR expires_at > now()))
                ORDER BY created_at DESC, key_id""",  # noqa: S608 - constant columns
            include_inactive,
        )
    return KeyPage(items=[KeyPublic(**dict(r)) for r in rows])


@router.post("/{key_id}/rotate", status_code=201)
async def rotate(
    key_id: uuid.UUID,
    user: Operator,
    pool: PoolDep,
    settings: SettingsDep,
    body: RotateIn | None = None,
) -> KeyCreated:
    """A successor with the same label and scope; the old key ends after the grace.

    The old key keeps working for ``API_KEY_ROTATION_GRACE_HOURS`` (never past its
    own expiry) so the holder can switch without an outage; 0 revokes it at once.
    """
    expires_at = _expiry(settings, body.expires_in_days if body else None)
    async with pool.acquire() as conn, conn.transaction():
        old = await conn.fetchrow(
            """SELECT label, scope, scope_id FROM api_keys
               WHERE key_id = $1 AND revoked_at IS NULL
                 AND (expires_at IS NULL OR expires_at > now())
               FOR UPDATE""",
            key_id,
        )
        if old is None:
            raise Problem(404, "no such active key", kind="not-found")
        created = await _issue(
            conn,
            label=old["label"],
            scope=old["scope"],
            scope_id=old["scope_id"],
            expires_at=expires_at,
            created_by=user.account_id,
        )
        grace = timedelta(hours=settings.key_rotation_grace_hours)
        await conn.execute(
            """UPDATE api_keys SET replaced_by = $2,
                   revoked_at = CASE WHEN $3 = 0 THEN now() END,
                   expires_at = CASE WHEN $3 = 0 THEN expires_at
                       ELSE LEAST(COALESCE(expires_at, 'infinity'), now() + $4) END
               WHERE key_id = $1""",
            key_id,
            created.key_id,
            settings.key_rotation_grace_hours,
            grace,
        )
    return created


@router.delete("/{key_id}", status_code=204)
async def revoke(key_id: uuid.UUID, user: Operator, pool: PoolDep) -> None:
    """Revokes a key at once (the row stays, for the record)."""
    async with pool.acquire() as conn:
        done = await conn.execute(
            "UPDATE api_keys SET revoked_at = now() "
            "WHERE key_id = $1 AND revoked_at IS NULL",
            key_id,
        )
    if done.endswith(" 0"):
        raise Problem(404, "no such active key", kind="not-found")
