"""The Enedis consent flow: redirect to Data Connect's consent page, and its callback.

``GET /v1/enedis/consent`` sends the signed-in resident to the consent page with a
fresh ``state``, remembered (with the duration asked) in a short-lived HttpOnly
cookie. Enedis redirects the browser back to ``GET /v1/enedis/callback`` with
``state`` and ``usage_point_id`` (one PRM or several joined by ``;``); the
callback checks that the state is the one this browser was given, stores one
*pending* consent per PRM (:mod:`energy_store.consent_registry`) for that resident, and
sends the browser back to the resident page with ``consent=pending``.

The callback alone never grants access: ``usage_point_id`` is a query parameter
the browser can rewrite (a resident typing a neighbour's PRM got the neighbour's
readings before). A pending consent shows nothing and is not collected; the
api cannot ask Enedis who holds a PRM (the Data Connect client and its token live
in ingest-enedis, which the api does not import), so ingest-enedis verifies every
pending consent at its next cycle against the customers v5 identity and contact
of the PRM and writes ``verified`` (plus the occupancy from the contract),
``to_verify`` (mismatch, or the PRM held by another resident: an operator decides
under ``/v1/operator/consents``) or ``rejected`` (Enedis refused the PRM). Other
consents on the same PRM are never touched. ``code`` is ignored: data access uses
the application's client-credentials token, not a per-resident one
(docs/upstreams/enedis.md §1).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from api.deps import PoolDep, Resident, SettingsDep
from api.problems import Problem
from api.schemas import ConsentPage, ConsentPublic
from energy_core.errors import InvalidValueError
from energy_store.consent_registry import (
    acting_as,
    parse_usage_points,
    record_prm_consents,
)

router = APIRouter(prefix="/v1/enedis", tags=["consent"])

STATE_COOKIE = "sen1_consent_state"
STATE_TTL_S = 900
"""How long a consent page may stay open before its callback is refused."""
MAX_PRMS_PER_CALLBACK = 10
"""An Enedis account lists a home's few PRMs; more in one callback is a forgery."""
MAX_AWAITING = 20
"""Consents of one person awaiting verification: each costs ingest-enedis up to
three Data Connect requests from the quota every resident shares (10,000/h)."""


@router.get("/consent", response_class=RedirectResponse, status_code=307)
async def consent(
    request: Request,
    user: Resident,
    settings: SettingsDep,
    duration: Annotated[str | None, Query(max_length=16)] = None,
) -> RedirectResponse:
    """307 to the authorize URL; ``duration`` is ISO 8601 PnYnM, at most P3Y."""
    state = secrets.token_urlsafe(24)
    asked = duration or settings.enedis_duration
    try:
        url = request.app.state.consent.authorize_url(state=state, duration=asked)
    except ValueError as exc:
        raise Problem(422, str(exc), kind="validation") from exc
    response = RedirectResponse(url, status_code=307)
    response.set_cookie(
        STATE_COOKIE,
        f"{state}.{asked}",  # token_urlsafe never contains "."
        max_age=STATE_TTL_S,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",  # sent on the top-level redirect back from Enedis
        path="/v1/enedis",
    )
    return response


@router.get("/callback", response_class=RedirectResponse, status_code=303)
async def callback(
    request: Request,
    user: Resident,
    pool: PoolDep,
    state: Annotated[str, Query(min_length=1, max_length=100)],
    usage_point_id: Annotated[str | None, Query(max_length=2000)] = None,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=100)] = None,
) -> RedirectResponse:
    """Stores the consents Enedis reports as *pending* (they grant nothing until
    ingest-enedis or an operator verified them), then 303 to
    ``/resident?consent=pending``.

    A refusal on the Enedis page (``error=access_denied``) stores nothing and
    redirects with ``consent=refused``. A state that is missing, expired or not
    this browser's is a 400 problem: it may be a forged link (CSRF).
    """
    del code  # see the module docstring
    expected, _, duration = request.cookies.get(STATE_COOKIE, "").partition(".")
    if not expected or not hmac.compare_digest(expected, state):
        raise Problem(
            400,
            "state does not match the consent request started from this browser "
            f"(start again from /v1/enedis/consent; it is valid {STATE_TTL_S // 60} "
            "minutes)",
            kind="validation",
        )
    if error is not None:
        outcome = "refused"
    else:
        if not usage_point_id:
            raise Problem(
                422, "usage_point_id: missing from the callback", kind="validation"
            )
        try:
            prms = parse_usage_points(usage_point_id)
        except InvalidValueError as exc:
            raise Problem(422, str(exc), kind="validation") from exc
        if user.person_id is None:  # Resident guarantees one; typed as optional
            raise Problem(403, "consents are for residents only", kind="forbidden")
        if len(prms) > MAX_PRMS_PER_CALLBACK:
            raise Problem(
                422,
                f"usage_point_id: at most {MAX_PRMS_PER_CALLBACK} PRMs per consent",
                kind="validation",
            )
        async with pool.acquire() as conn, conn.transaction():
            awaiting = await conn.fetchval(
                """SELECT count(*) FROM consents WHERE person_id = $1
                   AND verification IN ('pending', 'to_verify')
                   AND revoked_at IS NULL AND expires_at > now()""",
                user.person_id,
            )
            if awaiting + len(prms) > MAX_AWAITING:
                raise Problem(
                    429,
                    "too many consents of yours await verification; try again "
                    "once they are settled",
                    kind="too-many-pending",
                )
            await acting_as(conn, f"resident:{user.person_id}")
            await record_prm_consents(
                conn,
                person_id=str(user.person_id),
                prms=prms,
                now=datetime.now(UTC),
                duration=duration or "P3Y",
            )
        outcome = "pending"
    response = RedirectResponse(f"/resident?consent={outcome}", status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/v1/enedis")
    return response


@router.get("/consents")
async def my_consents(user: Resident, pool: PoolDep) -> ConsentPage:
    """Your consents and where their verification stands (newest first).

    A consent held for an operator shows as ``pending`` and no reason is given:
    "held by another resident" or "identity mismatch" would tell whoever typed a
    neighbour's PRM that the neighbour uses SEN1."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT consent_id, meter_id, purpose, starts_at, expires_at,
                      revoked_at,
                      CASE verification WHEN 'to_verify' THEN 'pending'
                           ELSE verification END AS verification,
                      NULL::text AS verification_reason
               FROM consents WHERE person_id = $1
               ORDER BY created_at DESC, consent_id LIMIT 500""",
            user.person_id,
        )
    return ConsentPage(items=[ConsentPublic(**dict(r)) for r in rows])
