"""Operators decide the consents automatic verification could not.

ingest-enedis verifies every pending consent against Data Connect customers v5; what
it cannot settle it holds ``to_verify`` with a reason: the identity or contact of
the PRM does not match the account holder, or the PRM is already held (live verified
consent or occupancy) by another resident. Such a consent grants nothing until an
operator decides here, after checking outside SEN1 (a lease, a bill):

- ``verified`` needs the move-in day: it opens the resident's occupancy from that
  local day, so nothing from before it is ever shown to them. When the point is
  still held by someone else, the operator says the previous holder moved out
  (``previous_holder_moved_out``): their occupancy ends at the move-in and their
  consents on the point are revoked, in the same transaction. Without it the
  database refuses a second holder and the answer is a 409 problem.
- ``rejected`` ends it.

Every decision is audited by the database trigger with ``operator:<account>``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Operator, PoolDep
from api.problems import Problem
from api.schemas import (
    ConsentAuditPage,
    ConsentAuditPublic,
    ConsentDecisionIn,
    ConsentToVerifyPage,
    ConsentToVerifyPublic,
)
from energy_core.domain.time import local_midnight
from energy_store.consent_registry import (
    HeldByAnotherError,
    acting_as,
    decide,
    end_holding,
    open_occupancy,
)

router = APIRouter(prefix="/v1/operator/consents", tags=["operator"])

_LIST = """
SELECT c.consent_id, c.meter_id, c.purpose, c.starts_at, c.expires_at, c.revoked_at,
       c.verification, c.verification_reason, c.person_id, p.display_name, p.email,
       c.created_at,
       EXISTS (SELECT 1 FROM consents o WHERE o.meter_id = c.meter_id
                 AND o.person_id <> c.person_id AND o.verification = 'verified'
                 AND o.revoked_at IS NULL AND o.starts_at <= now()
                 AND o.expires_at > now())
       OR EXISTS (SELECT 1 FROM occupancies x WHERE x.delivery_point_id = c.meter_id
                    AND x.person_id <> c.person_id AND x.starts_at <= now()
                    AND (x.ends_at IS NULL OR x.ends_at > now())) AS held_by_another
FROM consents c JOIN people p USING (person_id)
WHERE c.verification = $1 AND c.revoked_at IS NULL AND c.expires_at > now()
ORDER BY c.created_at, c.consent_id LIMIT $2 OFFSET $3
"""


@router.get("")
async def to_verify(
    user: Operator,
    pool: PoolDep,
    state: Annotated[str, Query(pattern="^(to_verify|pending)$")] = "to_verify",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ConsentToVerifyPage:
    """Consents held for an operator (or still ``pending`` automatic verification),
    oldest first, with who asked and whether another resident holds the point."""
    del user
    async with pool.acquire() as conn:
        rows = await conn.fetch(_LIST, state, limit, offset)
    return ConsentToVerifyPage(
        items=[ConsentToVerifyPublic(**dict(r)) for r in rows],
        limit=limit,
        offset=offset,
    )


@router.get("/{consent_id}/audit")
async def audit(
    consent_id: uuid.UUID, user: Operator, pool: PoolDep
) -> ConsentAuditPage:
    """Every decision about one consent, oldest first."""
    del user
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT event, verification, actor, reason, at FROM consent_audit
               WHERE consent_id = $1 ORDER BY audit_id""",
            consent_id,
        )
    if not rows:
        raise Problem(404, "no such consent", kind="not-found")
    return ConsentAuditPage(
        consent_id=consent_id, items=[ConsentAuditPublic(**dict(r)) for r in rows]
    )


@router.post("/{consent_id}/decision", status_code=204)
async def decision(
    consent_id: uuid.UUID, body: ConsentDecisionIn, user: Operator, pool: PoolDep
) -> None:
    """Settles a ``to_verify`` (or ``pending``) consent; see the module docstring."""
    now = datetime.now(UTC)
    actor = f"operator:{user.account_id}"
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT c.person_id, c.meter_id, m.scheme FROM consents c
               JOIN meters m USING (meter_id)
               WHERE c.consent_id = $1 AND c.verification IN ('pending', 'to_verify')
               FOR UPDATE OF c""",
            consent_id,
        )
        if row is None:
            raise Problem(404, "no consent waiting for a decision", kind="not-found")
        await acting_as(conn, actor)
        if body.decision == "rejected":
            await decide(
                conn, consent_id=str(consent_id), verification="rejected",
                by=actor, reason=body.reason, now=now,
            )  # fmt: skip
            return
        point = row["scheme"] in ("prm", "pce")
        if point and body.move_in is None:
            raise Problem(
                422,
                "move_in: required to verify a consent on a delivery point (the "
                "resident sees nothing from before it)",
                kind="validation",
            )
        moved_in = local_midnight(body.move_in) if body.move_in else now
        if body.previous_holder_moved_out:
            await end_holding(
                conn, delivery_point_id=row["meter_id"], moved_out_at=moved_in, now=now
            )
        try:
            await decide(
                conn, consent_id=str(consent_id), verification="verified",
                by=actor, reason=body.reason, now=now,
            )  # fmt: skip
            if point:
                await open_occupancy(
                    conn,
                    person_id=str(row["person_id"]),
                    delivery_point_id=row["meter_id"],
                    starts_at=moved_in,
                    source="operator",
                )
        except HeldByAnotherError as exc:
            raise Problem(
                409,
                "the delivery point is held by another resident over that period; "
                "set previous_holder_moved_out if they moved out at move_in",
                kind="held-by-another",
            ) from exc
