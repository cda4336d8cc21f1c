"""Typed dependencies: the pool, the settings, the caller and their permissions.

All ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a
thread hand-off per dependency per request (a dozen per resident request).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from api import auth
from api.privacy import SecrecyRule
from api.problems import Problem
from api.settings import Settings


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _rule(request: Request) -> SecrecyRule:
    rule: SecrecyRule = request.app.state.secrecy
    return rule


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
SettingsDep = Annotated[Settings, Depends(_settings)]
SecrecyDep = Annotated[SecrecyRule, Depends(_rule)]


def bearer_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer``, ``X-API-Key`` or the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or request.cookies.get(auth.COOKIE)


async def _principal(request: Request, pool: PoolDep) -> auth.Principal:
    token = bearer_token(request)
    if token is None:
        return auth.PUBLIC
    async with pool.acquire() as conn:
        principal = await auth.resolve(conn, token)
    if principal is None:
        raise Problem(401, "unknown or expired credentials", kind="unauthenticated")
    return principal


CurrentUser = Annotated[auth.Principal, Depends(_principal)]


async def _signed_in(user: CurrentUser) -> auth.Principal:
    if user.kind == "public":
        raise Problem(401, "sign in or give an API key", kind="unauthenticated")
    return user


async def _resident(
    user: Annotated[auth.Principal, Depends(_signed_in)],
) -> auth.Principal:
    if user.kind != "resident" or user.person_id is None:
        raise Problem(403, "individual data is for residents only", kind="forbidden")
    return user


async def _operator(
    user: Annotated[auth.Principal, Depends(_signed_in)],
) -> auth.Principal:
    if user.kind != "operator":
        raise Problem(403, "operators only", kind="forbidden")
    return user


SignedIn = Annotated[auth.Principal, Depends(_signed_in)]
Resident = Annotated[auth.Principal, Depends(_resident)]
Operator = Annotated[auth.Principal, Depends(_operator)]
