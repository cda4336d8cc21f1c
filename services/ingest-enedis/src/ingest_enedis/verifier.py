"""Verifies pending consents against Data Connect customers v5 before anything is shown.

The api records what the Enedis callback reports as a *pending* consent: the
callback's ``usage_point_id`` comes back through the browser, which can rewrite it
(a resident typing a neighbour's PRM). Only this service holds the Data Connect
client and its token, so it settles each pending consent at the start of every
collection cycle, before any PRM is collected:

1. the PRM is already held by someone else (a live verified consent or an
   occupancy covering now) -> ``to_verify`` (``held_by_another``), no upstream call:
   a delivery point is never silently shared, an operator decides;
2. customers v5 identity and contact of the PRM: Enedis refuses the PRM
   (ADAM-DC-0008 no consent, STM-ERR-0000019 unknown, a production-only point...)
   -> ``rejected``; unreachable -> left pending for the next cycle;
3. the holder's name AND e-mail match the account holder (``people``) ->
   ``verified``, and the occupancy starts at the contract's last activation date
   (customers v5 contracts; the consent's start when Enedis does not say): nothing
   from before it is ever shown to them. One of the two matches, or none ->
   ``to_verify`` (``partial_match`` / ``identity_mismatch``) for an operator.

Only the consent concerned changes: a refused or mismatching PRM never revokes or
alters another person's consent on it (the collector's revocation on ADAM-DC-0008
applies to verified consents of a PRM it actually collects). Identity and contact
are compared in memory and never stored. Every outcome is audited by the database
trigger (actor ``ingest-enedis``); expired consents are audited here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

import asyncpg

from energy_core.domain.time import local_midnight
from energy_core.errors import PermanentError, TransientError
from energy_core.observability import meter_ref
from energy_store.consent_registry import (
    HeldByAnotherError,
    acting_as,
    decide,
    held_by_another,
    open_occupancy,
)
from ingest_enedis.mapping import parse_contract

logger = logging.getLogger(__name__)
T = TypeVar("T")
ACTOR = "ingest-enedis"
VERIFIED_BY = "ingest-enedis:customers-v5"
BATCH = 200
"""Pending consents settled per cycle (each costs up to three requests)."""


class CustomersPort(Protocol):
    """The customers v5 calls the verifier needs (the Data Connect client)."""

    async def identity(self, prm: str) -> dict[str, Any]: ...

    async def contact(self, prm: str) -> dict[str, Any]: ...

    async def contract(self, prm: str) -> dict[str, Any]: ...


Call = Callable[[Callable[[], Awaitable[T]]], Awaitable[T]]


def _fold(text: str) -> str:
    """Case, accents and spacing do not make two names differ."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace("-", " ").split())


def _unwrap(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The openapi shape, or the same inside ``customer{}`` (unverified upstream)."""
    inner = payload.get("customer")
    return inner if isinstance(inner, Mapping) else payload


@dataclass(frozen=True, slots=True)
class Match:
    """How the PRM's holder compares with the account holder."""

    verification: str  # verified | to_verify
    reason: str


def match_holder(
    identity: Mapping[str, Any],
    contact: Mapping[str, Any],
    *,
    display_name: str,
    email: str | None,
) -> Match:
    """Compares Enedis' holder with the person who asked (pure, unit-tested)."""
    who = _unwrap(identity).get("identity") or {}
    natural = who.get("natural_person") if isinstance(who, Mapping) else None
    names: set[str] = set()
    if isinstance(natural, Mapping):
        first = str(natural.get("firstname") or "")
        last = str(natural.get("lastname") or "")
        names = {_fold(f"{first} {last}"), _fold(f"{last} {first}")}
    details = _unwrap(contact).get("contact") or {}
    their_email = details.get("email") if isinstance(details, Mapping) else None
    name_ok = bool(display_name.strip()) and _fold(display_name) in names
    email_ok = (
        email is not None
        and isinstance(their_email, str)
        and email.strip().casefold() == their_email.strip().casefold()
    )
    if name_ok and email_ok:
        return Match("verified", "customers v5 identity and contact match")
    if name_ok or email_ok:
        return Match("to_verify", "partial_match")
    return Match("to_verify", "identity_mismatch")


@dataclass
class VerificationReport:
    """What one pass did (for logs and tests)."""

    verified: list[str] = field(default_factory=list)
    to_verify: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)
    expired: int = 0


_PENDING = """
SELECT c.consent_id, c.person_id, c.meter_id, c.starts_at, p.display_name, p.email
FROM consents c JOIN people p USING (person_id) JOIN meters m USING (meter_id)
WHERE c.verification = 'pending' AND c.revoked_at IS NULL AND c.expires_at > $1
  AND c.source = 'enedis' AND m.scheme = 'prm'
ORDER BY c.created_at, c.consent_id LIMIT $2
"""


async def _identify(
    client: CustomersPort, call: Call[dict[str, Any]], prm: str
) -> tuple[dict[str, Any], dict[str, Any], date | None]:
    identity = await call(lambda: client.identity(prm))
    contact = await call(lambda: client.contact(prm))
    try:
        contract = parse_contract(await call(lambda: client.contract(prm)))
        activation = contract.last_activation_date
    except PermanentError:  # no contract data: the consent's start bounds it
        activation = None
    return identity, contact, activation


async def _settle(
    pool: asyncpg.Pool,
    row: Any,
    verification: str,
    reason: str,
    now: datetime,
    occupancy_from: datetime | None = None,
) -> str:
    """Writes one outcome (and the occupancy of a verified one) in a transaction;
    returns the outcome actually written (a race with another holder flags it)."""
    consent_id, person_id, prm = (
        str(row["consent_id"]),
        str(row["person_id"]),
        row["meter_id"],
    )
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                await acting_as(conn, ACTOR)
                await decide(
                    conn, consent_id=consent_id, verification=verification,
                    by=VERIFIED_BY, reason=reason, now=now,
                )  # fmt: skip
                if verification == "verified" and occupancy_from is not None:
                    await open_occupancy(
                        conn,
                        person_id=person_id,
                        delivery_point_id=prm,
                        starts_at=occupancy_from,
                        source="enedis-contract",
                    )
        except HeldByAnotherError:
            async with conn.transaction():
                await acting_as(conn, ACTOR)
                await decide(
                    conn, consent_id=consent_id, verification="to_verify",
                    by=VERIFIED_BY, reason="held_by_another", now=now,
                )  # fmt: skip
            return "to_verify"
    return verification


async def verify_pending(
    pool: asyncpg.Pool,
    client: CustomersPort,
    call: Call[dict[str, Any]],
    now: datetime,
) -> VerificationReport:
    """Settles up to :data:`BATCH` pending Enedis consents; see the module docstring.

    ``call`` wraps each request with the collector's retry policy (429 pauses the
    shared limiter, 5xx backs off). A consent whose verification failed on our side
    or upstream's stays pending and is tried again next cycle.
    """
    report = VerificationReport()
    async with pool.acquire() as conn:
        rows = await conn.fetch(_PENDING, now, BATCH)
    for row in rows:
        prm = row["meter_id"]
        outcomes = {
            "verified": report.verified,
            "to_verify": report.to_verify,
            "rejected": report.rejected,
        }
        async with pool.acquire() as conn:
            held = await held_by_another(
                conn, person_id=str(row["person_id"]), meter_id=prm, now=now
            )
        if held:
            done = await _settle(pool, row, "to_verify", "held_by_another", now)
            outcomes[done].append(prm)
            continue
        try:
            identity, contact, activation = await _identify(client, call, prm)
        except TransientError as exc:
            logger.warning("%s: verification later: %s", meter_ref(prm), exc)
            report.later.append(prm)
            continue
        except PermanentError as exc:  # ADAM-DC-0008, STM-ERR-0000019, ADAM-ERR0069
            done = await _settle(pool, row, "rejected", f"enedis: {exc}"[:200], now)
            outcomes[done].append(prm)
            logger.info("%s: consent rejected by Enedis", meter_ref(prm))
            continue
        match = match_holder(
            identity, contact, display_name=row["display_name"], email=row["email"]
        )
        start = local_midnight(activation) if activation else row["starts_at"]
        done = await _settle(pool, row, match.verification, match.reason, now, start)
        outcomes[done].append(prm)
        logger.info("%s: consent %s (%s)", meter_ref(prm), done, match.reason)
    async with pool.acquire() as conn:
        report.expired = int(
            await conn.fetchval("SELECT consent_audit_expired($1)", now)
        )
    return report


async def _direct(what: Callable[[], Awaitable[T]]) -> T:
    """No retry between cycles: a refused or throttled call waits for the next pass
    (the shared limiter still paces every request)."""
    return await what()


async def verify_forever(
    pool: asyncpg.Pool,
    client: CustomersPort,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    interval_s: float,
) -> None:
    """Verifies pending consents every ``interval_s`` until ``stop``, beside the
    collection loop (which verifies at the start of each cycle too): a cycle can
    last hours during a backfill, a resident should not. A failed pass is logged
    and tried again at the next one."""
    while not stop.is_set():
        try:
            report = await verify_pending(pool, client, _direct, clock())
            if report.verified or report.to_verify or report.rejected:
                logger.info(
                    "consents: %d verified, %d to verify, %d rejected, %d later",
                    len(report.verified),
                    len(report.to_verify),
                    len(report.rejected),
                    len(report.later),
                )
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("consent verification failed, retrying later: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
