"""Sign in and out (residents, operators); who am I."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from api import auth
from api.deps import CurrentUser, PoolDep, SettingsDep, bearer_token
from api.problems import Problem
from api.schemas import LoginIn, MePublic, TokenPublic

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/login",
    responses={
        429: {
            "description": "too many attempts (account, address or busy); see Retry-After"
        }
    },
)
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    pool: PoolDep,
    settings: SettingsDep,
) -> TokenPublic:
    """Checks the password; returns a bearer token and sets the session cookie.

    429 (``Retry-After``) before any password is hashed when this account or this
    address tried too often, or too many checks are running (``api.ratelimit``).
    """
    ttl = timedelta(hours=settings.session_ttl_hours)
    guard = request.app.state.login_guard
    address = request.client.host if request.client else "unknown"
    with guard.attempt(body.email, address):
        async with pool.acquire() as conn:
            token = await auth.login(
                conn, email=body.email, password=body.password, ttl=ttl
            )
            if token is None:
                raise Problem(401, "wrong e-mail or password", kind="unauthenticated")
            principal = await auth.resolve(conn, token)
    if principal is None:  # pragma: no cover - the session was just created
        raise Problem(500, "session lost")
    response.set_cookie(
        auth.COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
    )
    return TokenPublic(token=token, role=principal.kind)


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, pool: PoolDep) -> None:
    """Ends the session (idempotent)."""
    token = bearer_token(request)
    if token and token.startswith(auth.SESSION_PREFIX):
        async with pool.acquire() as conn:
            await auth.logout(conn, token)
    response.delete_cookie(auth.COOKIE)


@router.get("/me")
async def me(user: CurrentUser) -> MePublic:
    """What the caller is allowed to be."""
    return MePublic(kind=user.kind, scope=user.scope, scope_id=user.scope_id)
