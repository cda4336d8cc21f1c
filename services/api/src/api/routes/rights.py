"""A resident's rights over their data: consents, access log, export, erasure.

Everything here is about the caller only: the person comes from the session,
never from the path or the query, and a consent id that is not theirs is a 404
like one that does not exist (no existence leak).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api import access_log, auth, rights
from api.deps import PoolDep, Resident, bearer_token
from api.problems import Problem

router = APIRouter(prefix="/v1/me", tags=["rights"])


class ConsentPublic(BaseModel):
    consent_id: uuid.UUID
    meter_id: str
    purpose: str
    source: str
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    status: Literal["live", "withdrawn", "expired", "pending", "rejected"]


class ConsentPage(BaseModel):
    items: list[ConsentPublic]


class WithdrawIn(BaseModel):
    delete_readings: bool = Field(
        default=False,
        description="also delete the stored readings of the meter (withdraw and "
        "delete); false: withdraw and keep them (hidden from you; still inside "
        "aggregates, which only leave behind the secrecy rule)",
    )


class WithdrawalPublic(BaseModel):
    consent_id: uuid.UUID
    meter_id: str
    withdrawn_at: datetime
    readings_deleted: int


class AccessPublic(BaseModel):
    at: datetime
    method: str
    route: str = Field(description="route template, e.g. /v1/meters/{meter_id}/daily")
    meter_id: str
    consent_id: uuid.UUID | None = Field(description="null once that consent is gone")
    actor: Literal["you", "resident", "operator", "city", "peer", "unknown"]
    actor_name: str | None = Field(
        description="display name of a person you share with, or an API key's label"
    )


class AccessLogPage(BaseModel):
    items: list[AccessPublic]
    limit: int
    offset: int


def _person(user: auth.Principal) -> uuid.UUID:
    if user.person_id is None:  # pragma: no cover - Resident guarantees it
        raise Problem(403, "individual data is for residents only", kind="forbidden")
    return user.person_id


@router.get("/consents")
async def my_consents(user: Resident, pool: PoolDep) -> ConsentPage:
    """Every consent you gave, whatever its state (live, withdrawn, expired)."""
    async with pool.acquire() as conn:
        rows = await rights.consents_of(conn, _person(user))
    return ConsentPage(items=[ConsentPublic(**dict(r)) for r in rows])


@router.post("/consents/{consent_id}/withdraw")
async def withdraw(
    consent_id: uuid.UUID, user: Resident, pool: PoolDep, body: WithdrawIn
) -> WithdrawalPublic:
    """Withdraws a consent of yours: its meter is hidden at once and no longer
    collected; ``delete_readings`` also deletes its stored readings (409 when
    another person's live consent covers that meter: nothing is changed)."""
    async with pool.acquire() as conn:
        try:
            done = await rights.withdraw(
                conn, _person(user), consent_id, delete_readings=body.delete_readings
            )
        except rights.ReadingsShared:
            raise Problem(
                409,
                "these readings are also covered by another live consent; "
                "withdraw without deletion, or ask the operator",
                kind="readings-shared",
            ) from None
    if done is None:
        raise Problem(404, "no such consent among yours", kind="not-found")
    return WithdrawalPublic(
        consent_id=done.consent_id,
        meter_id=done.meter_id,
        withdrawn_at=done.withdrawn_at,
        readings_deleted=done.readings_deleted,
    )


@router.get("/access-log")
async def my_access_log(
    user: Resident,
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AccessLogPage:
    """Who read your data: you, people you share a meter with, operators, keys."""
    async with pool.acquire() as conn:
        rows = await access_log.entries_about(
            conn, _person(user), limit=limit, offset=offset
        )
    return AccessLogPage(
        items=[AccessPublic(**dict(r)) for r in rows], limit=limit, offset=offset
    )


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export(user: Resident, pool: PoolDep) -> Response:
    """Everything held about you, as a zip of JSON and CSV files."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        data = await rights.export(conn, user)
    return Response(
        data,
        media_type="application/zip",
        headers={
            "content-disposition": 'attachment; filename="sen1-my-data.zip"',
            "cache-control": "no-store",
        },
    )


@router.delete("", status_code=204)
async def erase(
    request: Request,
    response: Response,
    user: Resident,
    pool: PoolDep,
    confirm: Annotated[Literal["erase"], Query(description="must be 'erase'")],
) -> None:
    """Erases your account, sessions, consents and the access log about you, and
    the readings of meters no one else holds a live consent on. Not undoable."""
    async with pool.acquire() as conn:
        await rights.erase(conn, _person(user))
    if bearer_token(request):
        response.delete_cookie(auth.COOKIE)
