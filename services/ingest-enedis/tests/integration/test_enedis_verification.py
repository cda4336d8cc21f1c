"""Pending consents verified against the emulator's customers v5, over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from enedis_emulator import customers
from enedis_emulator.profiles import SANDBOX
from energy_core.domain import PARIS, Prm
from energy_store.consent_registry import record_prm_consents
from ingest_enedis.verifier import verify_forever

from .conftest import NOW

pytestmark = pytest.mark.integration

PRM1 = "11453290002823"  # sandbox client 1, activated 2019-08-27
PRODUCTION_ONLY = "24880057139941"  # sandbox client 5
UNKNOWN = "98800007059999"


async def _holder_person(pg_pool, prm: str) -> str:
    """A SEN1 person who is the emulator's holder of ``prm``."""
    meter = next(m for m in SANDBOX if m.prm == prm)
    holder = customers.generated(meter)
    return str(
        await pg_pool.fetchval(
            "INSERT INTO people (display_name, email) VALUES ($1, $2) "
            "RETURNING person_id",
            f"{holder.firstname} {holder.lastname}",
            holder.email,
        )
    )


async def _stranger(pg_pool, email: str = "ana@example.org") -> str:
    return str(
        await pg_pool.fetchval(
            "INSERT INTO people (display_name, email) VALUES ('Ana Lima', $1) "
            "RETURNING person_id",
            email,
        )
    )


async def _pending(pg_pool, person: str, *prms: str) -> None:
    async with pg_pool.acquire() as conn, conn.transaction():
        await record_prm_consents(
            conn, person_id=person, prms=[Prm(p) for p in prms], now=NOW
        )


async def _state(pg_pool, person: str, prm: str) -> tuple[str, str | None]:
    row = await pg_pool.fetchrow(
        "SELECT verification, verification_reason FROM consents "
        "WHERE person_id = $1::uuid AND meter_id = $2",
        person,
        prm,
    )
    return row["verification"], row["verification_reason"]


async def test_the_holder_is_verified_from_the_contracts_activation(
    emulator, collector_factory, pg_pool
) -> None:
    holder = await _holder_person(pg_pool, PRM1)
    stranger = await _stranger(pg_pool)
    await _pending(pg_pool, holder, PRM1)
    await _pending(pg_pool, stranger, PRODUCTION_ONLY, UNKNOWN)
    collector = await collector_factory()
    report = await collector.run_cycle()
    assert report.verification is not None
    assert report.verification.verified == [PRM1]
    assert sorted(report.verification.rejected) == sorted([PRODUCTION_ONLY, UNKNOWN])
    assert report.prms == 1  # only the verified PRM is collected
    occupancy = await pg_pool.fetchrow(
        "SELECT person_id::text, starts_at, source FROM occupancies "
        "WHERE delivery_point_id = $1",
        PRM1,
    )
    assert occupancy["person_id"] == holder
    assert occupancy["starts_at"] == datetime(2019, 8, 27, tzinfo=PARIS)
    assert occupancy["source"] == "enedis-contract"
    assert (await _state(pg_pool, stranger, PRODUCTION_ONLY))[0] == "rejected"
    assert "ADAM-DC-0008" in (await _state(pg_pool, stranger, UNKNOWN))[1]
    # someone else then asking for the held PRM is flagged for an operator
    late = await _stranger(pg_pool, "late@example.org")
    await _pending(pg_pool, late, PRM1)
    report = await collector.run_cycle()
    assert report.verification is not None
    assert report.verification.to_verify == [PRM1]
    assert await _state(pg_pool, late, PRM1) == ("to_verify", "held_by_another")
    assert await _state(pg_pool, holder, PRM1) == (
        "verified",
        "customers v5 identity and contact match",
    )


async def test_a_stranger_is_held_and_an_outage_leaves_it_pending(
    emulator, collector_factory, pg_pool
) -> None:
    _, state = emulator
    stranger = await _stranger(pg_pool)
    await _pending(pg_pool, stranger, PRM1)
    state.faults.extend([(503, None)] * 40)  # every retry of the cycle fails
    collector = await collector_factory(max_attempts=2)
    report = await collector.run_cycle()
    assert report.verification is not None
    assert report.verification.later == [PRM1]
    assert await _state(pg_pool, stranger, PRM1) == ("pending", None)
    state.faults.clear()
    report = await collector.run_cycle()
    assert report.verification is not None
    assert await _state(pg_pool, stranger, PRM1) == ("to_verify", "identity_mismatch")
    assert report.prms == 0
    audit = await pg_pool.fetch(
        "SELECT event, actor FROM consent_audit WHERE person_id = $1::uuid "
        "ORDER BY audit_id",
        stranger,
    )
    assert [(a["event"], a["actor"]) for a in audit] == [
        ("recorded", "enedis"),
        ("mismatch", "ingest-enedis"),
    ]


async def test_the_verification_loop_settles_consents_between_cycles(
    emulator, collector_factory, pg_pool
) -> None:
    collector = await collector_factory()
    holder = await _holder_person(pg_pool, PRM1)
    stop = asyncio.Event()
    loop = asyncio.create_task(
        verify_forever(pg_pool, collector.client, collector.clock, stop, 0.05)
    )
    try:
        await _pending(pg_pool, holder, PRM1)
        for _ in range(200):
            if (await _state(pg_pool, holder, PRM1))[0] != "pending":
                break
            await asyncio.sleep(0.05)
        assert (await _state(pg_pool, holder, PRM1))[0] == "verified"
    finally:
        stop.set()
        await asyncio.wait_for(loop, 5)
