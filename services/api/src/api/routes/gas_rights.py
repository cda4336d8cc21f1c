"""GRDF access rights from the dashboard: declare, follow, send proofs, revoke.

Gas data comes from GRDF's ADICT once the PCE's holder accepted an access right
SEN1 declared. A resident declares it for the PCE of the home they live in, a
property manager for a building whose points they hold; GRDF then e-mails the
holder, who accepts or refuses. The api never calls ADICT itself (only ingest-grdf
holds its credentials and quota): it writes a row of ``grdf_requests`` that
ingest-grdf claims, runs and answers (migration ``1602_ingest_grdf_requests`` says
why a table and not a command topic), and shows GRDF's state as ingest-grdf
mirrors it in ``grdf_rights``.

Who may declare on a PCE (the registry must know it):

* the holder as a natural person is the caller: the holder e-mail GRDF writes to
  must be the caller's own, and the caller must live in the PCE's building (a
  live verified consent and occupancy on a point there) or already occupy the PCE;
* a company holder (``raison_sociale``): the caller holds a point of the PCE's
  building (a property manager's verified consent);
* nobody else holds the PCE (another person's occupancy or verified consent): 409.

A declaration records a *pending* consent (source ``grdf``) over the data window
asked: it grants nothing until GRDF says the holder accepted, when ingest-grdf
verifies it and opens the person's occupancy of the PCE from the window's start;
``meter_access()`` then shows the gas readings inside that window only. Revoking
withdraws the caller's consents on the PCE at once (the data is hidden from that
moment) and asks ingest-grdf to revoke the right at GRDF (collection stops).

Everything is about the caller: another person's PCE is a 404 like an unknown one.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, File, Path, UploadFile
from pydantic import BaseModel, Field, model_validator

from api.deps import PoolDep, Resident
from api.problems import Problem
from energy_core.domain.time import PARIS

router = APIRouter(prefix="/v1/me/grdf", tags=["gas"])

PCE_PATTERN = r"^(\d{14}|GI\d{6})$"
PcePath = Annotated[str, Path(pattern=PCE_PATTERN)]
Scope = Literal["informatives", "published", "contractual", "technical"]
_PERIMS = {
    "informatives": "perim_donnees_informatives",
    "published": "perim_donnees_publiees",
    "contractual": "perim_donnees_contractuelles",
    "technical": "perim_donnees_techniques",
}
PURPOSE = "grdf-adict-collection"
MAX_PROOFS = 3
MAX_PROOF_BYTES = 4 * 1024 * 1024
_MAGIC = {
    b"%PDF": "application/pdf",
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
PROOF_REMIND_DAYS = 7
"""From this many days before GRDF's proof deadline the reminder turns urgent."""
_STATES = {
    "pending": "to_validate",
    "active": "active",
    "revoked": "revoked",
    "expired": "expired",
    "refused": "refused",
}


class DeclareIn(BaseModel):
    meter_id: str = Field(
        pattern=PCE_PATTERN, description="the PCE (14 digits, or GI + 6 digits)"
    )
    holder_name: str | None = Field(
        default=None, min_length=1, max_length=120, description="a natural person"
    )
    holder_company: str | None = Field(
        default=None, min_length=1, max_length=120, description="a legal entity"
    )
    email: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        max_length=254,
        description="the holder's e-mail: GRDF asks them there",
    )
    postcode: str = Field(pattern=r"^\d{5}$", description="the PCE's postcode")
    scopes: list[Scope] = Field(
        default=["informatives", "published", "contractual", "technical"],
        min_length=1,
    )
    data_from: date = Field(description="first gas day of data (at most 3 years back)")
    data_until: date = Field(description="last gas day of data (<= right_end)")
    right_end: date = Field(description="end of the right (< today + 3 years)")

    @model_validator(mode="after")
    def _one_holder(self) -> DeclareIn:
        if (self.holder_name is None) == (self.holder_company is None):
            raise ValueError("give holder_name or holder_company, not both")
        if self.data_until > self.right_end or self.data_from > self.data_until:
            raise ValueError("data_from <= data_until <= right_end")
        return self


class RequestPublic(BaseModel):
    request_id: uuid.UUID
    kind: Literal["declare", "revoke", "proofs"]
    status: Literal["queued", "claimed", "done", "failed"]
    error_code: str | None
    error_message: str | None = Field(
        description="GRDF's own words when it refused; while queued again, why "
        "the last try did not reach GRDF"
    )
    created_at: datetime
    retry_at: datetime | None = Field(
        default=None,
        description="GRDF was unavailable: tried again from this instant",
    )


class GasRightPublic(BaseModel):
    meter_id: str
    state: Literal[
        "none",
        "sending",
        "to_validate",
        "active",
        "revoked",
        "expired",
        "refused",
        "failed",
    ] = Field(
        description="none: SEN1 holds no GRDF right on it (declare one); "
        "sending: SEN1 has not reached GRDF yet; to_validate: GRDF "
        "waits for the holder; failed: GRDF refused the declaration (see request)"
    )
    proof: Literal["requested", "checking", "ok", "ko"] | None = Field(
        description="requested/ko: GRDF wants the holder's proofs before proof_deadline"
    )
    proof_deadline: date | None
    proof_days_left: int | None = Field(
        default=None, description="days until proof_deadline (negative: passed)"
    )
    proof_reminder: Literal["asked", "due_soon", "overdue"] | None = Field(
        default=None,
        description="asked: GRDF wants proofs; due_soon: the deadline is within "
        f"{PROOF_REMIND_DAYS} days; overdue: it has passed and GRDF decides "
        "(the state shown stays GRDF's until it does)",
    )
    data_from: date | None
    data_until: date | None
    right_end: date | None
    last_request: RequestPublic | None


class GasRightPage(BaseModel):
    items: list[GasRightPublic]


def _person(user: Any) -> uuid.UUID:
    if user.person_id is None:
        raise Problem(403, "gas rights are for people", kind="forbidden")
    person: uuid.UUID = user.person_id
    return person


def _at_six(day: date) -> datetime:
    """The start of a gas day (06:00 Paris)."""
    return datetime.combine(day, time(6), tzinfo=PARIS)


# The caller's PCEs: those they read (meter_access) and those they asked about.
_MINE = """
SELECT DISTINCT meter_id FROM (
    SELECT a.meter_id FROM meter_access($1, now()) a
    JOIN meters m ON m.meter_id = a.meter_id AND m.scheme = 'pce'
    UNION ALL
    SELECT meter_id FROM grdf_requests WHERE person_id = $1
) x ORDER BY meter_id
"""
_RIGHT = """
SELECT g.state, g.proof_status, g.proof_deadline, g.data_from, g.data_until,
       g.right_end, g.updated_at
FROM grdf_rights g WHERE g.meter_id = $1
"""
_LAST = """
SELECT request_id, kind, status, error_code, error_message, created_at, retry_at
FROM grdf_requests WHERE person_id = $1 AND meter_id = $2
ORDER BY created_at DESC LIMIT 1
"""


async def _view(
    conn: asyncpg.Connection, person: uuid.UUID, meter_id: str
) -> GasRightPublic:
    right = await conn.fetchrow(_RIGHT, meter_id)
    last = await conn.fetchrow(_LAST, person, meter_id)
    request = None if last is None else RequestPublic(**dict(last))
    declare = last if last is not None and last["kind"] == "declare" else None
    live = right is not None and right["state"] in ("pending", "active")
    state: str
    if declare is not None and declare["status"] in ("queued", "claimed"):
        state = "sending"
    elif declare is not None and declare["status"] == "failed" and not live:
        state = "failed"  # GRDF refused it (e.g. a postcode mismatch)
    elif right is not None:
        # a refused second declaration (GRDF: the right already exists) leaves
        # the live right what the person sees
        state = _STATES[right["state"]]
    else:
        state = "sending" if last is not None else "none"
    days_left, reminder = _proof_reminder(right, state)
    return GasRightPublic(
        meter_id=meter_id,
        state=state,
        proof=None if right is None else right["proof_status"],
        proof_deadline=None if right is None else right["proof_deadline"],
        proof_days_left=days_left,
        proof_reminder=reminder,
        data_from=None if right is None else right["data_from"],
        data_until=None if right is None else right["data_until"],
        right_end=None if right is None else right["right_end"],
        last_request=request,
    )


def _proof_reminder(
    right: asyncpg.Record | None, state: str
) -> tuple[int | None, str | None]:
    """Days left before GRDF's proof deadline and how loudly to remind: only
    while GRDF asks (``requested`` or ``ko``) on a live right. Past the deadline
    SEN1 decides nothing: the state is GRDF's, mirrored by the daily check."""
    if (
        right is None
        or right["proof_status"] not in ("requested", "ko")
        or right["proof_deadline"] is None
        or state not in ("to_validate", "active")
    ):
        return None, None
    days_left = (right["proof_deadline"] - datetime.now(PARIS).date()).days
    if days_left < 0:
        return days_left, "overdue"
    return days_left, "due_soon" if days_left <= PROOF_REMIND_DAYS else "asked"


async def _mine(conn: asyncpg.Connection, person: uuid.UUID) -> list[str]:
    return [r["meter_id"] for r in await conn.fetch(_MINE, person)]


@router.get("/rights")
async def my_gas_rights(user: Resident, pool: PoolDep) -> GasRightPage:
    """The caller's PCEs with GRDF's state of SEN1's right (and their last request)."""
    person = _person(user)
    async with pool.acquire() as conn:
        return GasRightPage(
            items=[await _view(conn, person, m) for m in await _mine(conn, person)]
        )


_MAY_DECLARE = """
SELECT m.meter_id FROM meters m
WHERE m.meter_id = $2 AND m.scheme = 'pce' AND (
    EXISTS (SELECT 1 FROM occupancies o WHERE o.person_id = $1
            AND o.delivery_point_id = m.meter_id AND o.starts_at <= now()
            AND (o.ends_at IS NULL OR o.ends_at > now()))
    OR (m.building_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM meter_access($1, now()) a
            JOIN meters p ON p.meter_id = a.meter_id
            WHERE p.building_id = m.building_id AND a.delivery_point_id IS NOT NULL)))
"""
_HELD_BY_OTHER = """
SELECT EXISTS (SELECT 1 FROM consents WHERE meter_id = $2 AND person_id <> $1
               AND verification = 'verified' AND revoked_at IS NULL
               AND starts_at <= now() AND expires_at > now())
    OR EXISTS (SELECT 1 FROM occupancies WHERE delivery_point_id = $2
               AND person_id <> $1 AND starts_at <= now()
               AND (ends_at IS NULL OR ends_at > now()))
"""


def _years_on(day: date, years: int) -> date:
    """The same day ``years`` later (negative: earlier); 29 February gives 28."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_windows(body: DeclareIn, today: date) -> None:
    """Refuses data from more than 3 years back, a right ending before today or
    3 years on or later (422)."""
    if body.data_from < _years_on(today, -3) + timedelta(days=1):
        raise Problem(422, "GRDF keeps 3 years of daily data", kind="invalid-window")
    if body.right_end < today or body.right_end >= _years_on(today, 3):
        raise Problem(
            422, "the right ends between today and 3 years", kind="invalid-window"
        )


@router.post("/rights", status_code=202)
async def declare_gas_right(
    body: DeclareIn, user: Resident, pool: PoolDep
) -> GasRightPublic:
    """Asks GRDF for an access right on the PCE; GRDF then asks its holder."""
    person = _person(user)
    _check_windows(body, datetime.now(PARIS).date())
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(_MAY_DECLARE, person, body.meter_id) is None:
            raise Problem(404, "no such PCE among your homes", kind="not-found")
        if body.holder_name is not None:
            mine = await conn.fetchval(
                "SELECT lower(email) FROM people WHERE person_id = $1", person
            )
            if mine != str(body.email).lower():
                raise Problem(
                    422,
                    "a holder who is a person is you: GRDF asks the holder at "
                    "your own e-mail address",
                    kind="holder-not-you",
                )
        if await conn.fetchval(_HELD_BY_OTHER, person, body.meter_id):
            raise Problem(409, "another person holds this PCE", kind="held-by-another")
        busy = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM grdf_requests WHERE meter_id = $1"
            " AND status IN ('queued', 'claimed'))",
            body.meter_id,
        )
        if busy:
            raise Problem(409, "a request on this PCE is in progress", kind="busy")
        await conn.execute(
            "SELECT set_config('sen1.actor', $1, true)", f"resident:{person}"
        )
        now = datetime.now(PARIS)
        consent_id = await conn.fetchval(
            """INSERT INTO consents (person_id, meter_id, purpose, source,
                   starts_at, expires_at, data_from, verification)
               VALUES ($1, $2, $3, 'grdf', $4, $5, $6, 'pending')
               RETURNING consent_id""",
            person,
            body.meter_id,
            PURPOSE,
            now,
            _at_six(body.right_end + timedelta(days=1)),
            _at_six(body.data_from),
        )
        holder = {
            "name": body.holder_name,
            "company": body.holder_company,
            "email": str(body.email),
            "postcode": body.postcode,
        }
        await conn.execute(
            """INSERT INTO grdf_requests (kind, meter_id, person_id, consent_id, holder,
                   scopes, data_from, data_until, right_end)
               VALUES ('declare', $1, $2, $3, $4, $5, $6, $7, $8)""",
            body.meter_id,
            person,
            consent_id,
            json.dumps(holder),
            json.dumps([_PERIMS[s] for s in body.scopes]),
            body.data_from,
            body.data_until,
            body.right_end,
        )
        return await _view(conn, person, body.meter_id)


async def _own(conn: asyncpg.Connection, person: uuid.UUID, meter_id: str) -> None:
    if meter_id not in await _mine(conn, person):
        raise Problem(404, "no such PCE among yours", kind="not-found")


@router.post("/rights/{meter_id}/revoke", status_code=202)
async def revoke_gas_right(
    meter_id: PcePath, user: Resident, pool: PoolDep
) -> GasRightPublic:
    """Withdraws the caller's consents on the PCE now (their gas data is hidden
    from this moment) and asks ingest-grdf to revoke SEN1's right at GRDF."""
    person = _person(user)
    async with pool.acquire() as conn, conn.transaction():
        await _own(conn, person, meter_id)
        await conn.execute(
            "SELECT set_config('sen1.actor', $1, true)", f"resident:{person}"
        )
        await conn.execute(
            "UPDATE consents SET revoked_at = greatest(now(), starts_at)"
            " WHERE person_id = $1 AND meter_id = $2 AND revoked_at IS NULL",
            person,
            meter_id,
        )
        await conn.execute(
            "INSERT INTO grdf_requests (kind, meter_id, person_id)"
            " VALUES ('revoke', $1, $2)",
            meter_id,
            person,
        )
        return await _view(conn, person, meter_id)


@router.post("/rights/{meter_id}/proofs", status_code=202)
async def send_gas_proofs(
    meter_id: PcePath,
    user: Resident,
    pool: PoolDep,
    files: Annotated[list[UploadFile], File(description="PDF, PNG or JPEG, <= 4 MB")],
) -> GasRightPublic:
    """The holder's proofs, when GRDF asked for them (at most 3 files of 4 MB)."""
    person = _person(user)
    if not files or len(files) > MAX_PROOFS:
        raise Problem(422, f"1 to {MAX_PROOFS} files", kind="invalid-proofs")
    contents: list[tuple[str, bytes, str]] = []
    for f in files:
        data = await f.read(MAX_PROOF_BYTES + 1)
        if len(data) > MAX_PROOF_BYTES:
            raise Problem(422, "a proof is at most 4 MB", kind="invalid-proofs")
        kind = next((t for m, t in _MAGIC.items() if data.startswith(m)), None)
        if kind is None:
            raise Problem(422, "a proof is a PDF, PNG or JPEG", kind="invalid-proofs")
        name = (f.filename or "proof").rsplit("/", 1)[-1][:100] or "proof"
        contents.append((name, data, kind))
    async with pool.acquire() as conn, conn.transaction():
        await _own(conn, person, meter_id)
        asked = await conn.fetchval(
            "SELECT proof_status IN ('requested', 'ko') FROM grdf_rights"
            " WHERE meter_id = $1",
            meter_id,
        )
        if not asked:
            raise Problem(
                409, "GRDF asks no proof on this right", kind="no-proof-asked"
            )
        request_id = await conn.fetchval(
            "INSERT INTO grdf_requests (kind, meter_id, person_id)"
            " VALUES ('proofs', $1, $2) RETURNING request_id",
            meter_id,
            person,
        )
        await conn.executemany(
            "INSERT INTO grdf_request_files (request_id, position, filename,"
            " content_type, data) VALUES ($1, $2, $3, $4, $5)",
            [(request_id, i, n, t, d) for i, (n, d, t) in enumerate(contents)],
        )
        return await _view(conn, person, meter_id)
