"""A property manager's or a city's SGE sites: register many PRMs with the
customer's authorisation, follow their enrolment, withdraw one.

Who: a signed-in person (a city registers as the municipality's account, a
manager as theirs); city API keys, operators and the public get nothing here.
Everything is the caller's own: the list shows only the sites they registered,
a withdrawal finds only theirs.

The hand-off to ingest-sge is the ``sge_sites`` table (shared SQL in
``energy_store.sge_sites``; the why is in migration 1504): a registration writes,
in one transaction, a *pending* consent per PRM (purpose
``enedis-sge-collection``: who authorised, scope, period, proof reference) and a
request the ingest-sge worker claims. The consent grants nothing until the worker
has verified that no one else holds the point; SGE's refusal later revokes it and
the site shows ``refused``. The site's readings reach the portfolio through the
same ``meter_access()`` rule as every individual read, never through this route.

Limits against bulk forging: :data:`~energy_store.sge_sites.MAX_PER_REQUEST` PRMs
per registration, :data:`~energy_store.sge_sites.MAX_LIVE_PER_PERSON` live sites
per account, and no registration after
:data:`~energy_store.sge_sites.MAX_REFUSED_PER_DAY` refusals in 24 h (429).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field, field_validator

from api.deps import PoolDep, Resident
from api.problems import Problem
from energy_core.domain import Prm
from energy_core.domain.time import local_midnight, shift_months
from energy_core.errors import InvalidValueError
from energy_store import sge_sites

router = APIRouter(prefix="/v1/me", tags=["portfolio"])

MAX_YEARS = 3
"""The registry's longest consent (a CHECK of ``consents``)."""


class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, description="the building")
    prms: list[str] = Field(min_length=1, max_length=sge_sites.MAX_PER_REQUEST)

    @field_validator("prms")
    @classmethod
    def _prms(cls, value: list[str]) -> list[str]:
        try:
            return [str(Prm(p.strip())) for p in value]
        except InvalidValueError as exc:
            raise ValueError("every PRM is exactly 14 digits") from exc


class AuthorisationIn(BaseModel):
    """The customer's authorisation as signed (SGE's ``autorisationClient``)."""

    authorised_by: str = Field(
        min_length=1,
        max_length=120,
        description="the customer who signed (company or person name)",
    )
    authoriser_kind: Literal["legal", "natural"] = Field(
        description="legal: a company or a public body; natural: a person"
    )
    scope: Literal["consumption"] = Field(
        default="consumption",
        description="what the customer authorised: consumption measures "
        "(SGE sens SOUTIRAGE), the only scope enrolled so far",
    )
    valid_from: date = Field(description="first day of the authorisation (Paris)")
    valid_until: date = Field(description="day it ends (Paris, exclusive)")
    proof_reference: str = Field(
        min_length=1,
        max_length=200,
        description="reference of the signed mandate you keep (not the file)",
    )
    history_from: date | None = Field(
        default=None,
        description="first day of history authorised (default: valid_from)",
    )


class Registration(BaseModel):
    sites: list[SiteIn] = Field(min_length=1, max_length=sge_sites.MAX_PER_REQUEST)
    authorisation: AuthorisationIn


class Accepted(BaseModel):
    site_id: str
    name: str
    state: str
    created: bool


class RegistrationOut(BaseModel):
    accepted: int = Field(description="new requests (PRMs already live are kept)")
    sites: list[Accepted]


class SgeSite(BaseModel):
    site_id: str
    meter_id: str
    name: str
    state: str = Field(
        description="requested, enrolling, active, refused, failed (retried), "
        "withdrawing, withdrawn"
    )
    reason: str | None
    readings: int = Field(description="readings backfilled at enrolment")
    authorised_by: str
    authoriser_kind: str
    proof_reference: str
    scope: str | None = Field(description="null: refused before any consent")
    valid_from: datetime | None
    valid_until: datetime | None
    history_from: datetime | None
    verification: str | None
    registered_at: datetime
    updated_at: datetime


class SgeSites(BaseModel):
    sites: list[SgeSite]


def _declaration(a: AuthorisationIn, today: date) -> sge_sites.Declaration:
    if a.valid_from > today:
        raise Problem(422, "valid_from is in the future", kind="invalid")
    if a.valid_until <= today:
        raise Problem(422, "the authorisation has ended", kind="invalid")
    if a.valid_until > shift_months(a.valid_from, 12 * MAX_YEARS):  # 29 Feb safe
        raise Problem(422, "an authorisation lasts at most 3 years", kind="invalid")
    history = a.history_from
    if history is not None and history > a.valid_from:
        raise Problem(422, "history_from is after valid_from", kind="invalid")
    if history is not None and history < today - timedelta(days=366 * MAX_YEARS):
        raise Problem(422, "SGE keeps at most 3 years of history", kind="invalid")
    return sge_sites.Declaration(
        authorised_by=a.authorised_by.strip(),
        authoriser_kind=a.authoriser_kind,
        scope=a.scope,
        valid_from=local_midnight(a.valid_from),
        valid_until=local_midnight(a.valid_until),
        proof_reference=a.proof_reference.strip(),
        history_from=local_midnight(history) if history else None,
    )


@router.get("/sge-sites")
async def my_sge_sites(user: Resident, pool: PoolDep) -> SgeSites:
    """The SGE sites the caller registered, with their enrolment state."""
    person: uuid.UUID = user.person_id  # type: ignore[assignment]  # Resident has one
    async with pool.acquire() as conn:
        rows = await sge_sites.mine(conn, person_id=person)
    return SgeSites(
        sites=[
            SgeSite(
                site_id=str(r["site_id"]),
                meter_id=r["meter_id"],
                name=r["name"],
                state=r["state"],
                reason=r["reason"],
                readings=r["readings"],
                authorised_by=r["authorised_by"],
                authoriser_kind=r["authoriser_kind"],
                proof_reference=r["proof_reference"],
                scope=r["scope"],
                valid_from=r["starts_at"],
                valid_until=r["expires_at"],
                history_from=r["data_from"],
                verification=r["verification"],
                registered_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]
    )


@router.post("/sge-sites", status_code=202)
async def register_sge_sites(
    body: Registration, user: Resident, pool: PoolDep
) -> RegistrationOut:
    """Registers sites (many PRMs) under one authorisation of their customer.

    202: the requests are recorded; ingest-sge verifies, subscribes and backfills
    them (follow ``GET /v1/me/sge-sites``). The answer names no PRM back.
    """
    person: uuid.UUID = user.person_id  # type: ignore[assignment]
    now = datetime.now(UTC)
    declaration = _declaration(body.authorisation, now.date())
    count = sum(len(set(s.prms)) for s in body.sites)
    if count > sge_sites.MAX_PER_REQUEST:
        raise Problem(
            422,
            f"at most {sge_sites.MAX_PER_REQUEST} PRMs per registration",
            kind="invalid",
        )
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(  # one registration of a person at a time: limits hold
            "SELECT pg_advisory_xact_lock(hashtext('sge_sites:' || $1::text))",
            str(person),
        )
        room, refused = await sge_sites.limits_left(conn, person_id=person, now=now)
        if refused >= sge_sites.MAX_REFUSED_PER_DAY:
            raise Problem(
                429,
                "too many of your sites were refused in the last 24 hours: "
                "an operator must look before you register more",
                kind="rate-limited",
            )
        if count > room:
            raise Problem(
                422,
                f"at most {sge_sites.MAX_LIVE_PER_PERSON} live sites per account",
                kind="invalid",
            )
        done = await sge_sites.register(
            conn,
            person_id=person,
            sites=[(s.name, [Prm(p) for p in s.prms]) for s in body.sites],
            declaration=declaration,
            now=now,
        )
    names = {p: s.name for s in reversed(body.sites) for p in s.prms}
    return RegistrationOut(
        accepted=sum(1 for r in done if r.created),
        sites=[
            Accepted(
                site_id=r.site_id,
                name=names[r.meter_id],
                state=r.state,
                created=r.created,
            )
            for r in done
        ],
    )


@router.delete("/sge-sites/{prm}", status_code=204)
async def withdraw_sge_site(
    prm: Annotated[str, Path(pattern=r"^\d{14}$")], user: Resident, pool: PoolDep
) -> Response:
    """Withdraws the caller's site: its authorisation ends now (its readings are
    no longer shown), ingest-sge stops its subscription. 404 if it is not theirs."""
    person: uuid.UUID = user.person_id  # type: ignore[assignment]
    async with pool.acquire() as conn:
        done = await sge_sites.withdraw(
            conn, person_id=person, meter_id=prm, now=datetime.now(UTC)
        )
    if not done:
        raise Problem(404, "no such site of yours", kind="not-found")
    return Response(status_code=204)
