"""The composition root against real parts: /readyz checks each dependency, and
the in-memory repository keeps the rules of the SQL one (the same scenario runs
against both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from energy_core.kafka import KafkaPublisher
from energy_core.observability import Health, ops_app
from energy_core.settings import KafkaSettings
from energy_store.consent_registry import record_prm_consents
from ingest_enedis.bootstrap import bootstrap
from ingest_enedis.mapping import Address, Contract, Stream
from ingest_enedis.repository import Repository
from ingest_enedis.repository.memory import MemoryRepository
from ingest_enedis.repository.postgres import PostgresRepository
from sen1_stack.broker import free_port

from .conftest import make_settings, person

pytestmark = pytest.mark.integration

PRM = "22516914714270"
DC = Stream.DAILY_CONSUMPTION


async def _readyz(health: Health) -> tuple[int, dict[str, object]]:
    transport = httpx.ASGITransport(app=ops_app(health))
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as http:
        response = await http.get("/readyz")
    return response.status_code, response.json()


async def test_readyz_checks_broker_database_and_token(
    emulator, kafka_settings, postgres_settings
):
    settings = make_settings(
        emulator[0], kafka=kafka_settings, postgres=postgres_settings
    )
    health = Health()
    async with bootstrap(settings, health=health) as runtime:
        ready, checks = await health.readiness()
        assert checks == {"kafka": True, "postgres": True, "dataconnect_token": True}
        assert ready
        status, _ = await _readyz(health)
        assert status == 200
        assert runtime.client.requests == 0  # a token, no metering call


async def test_readyz_fails_on_a_refused_token_and_an_unreachable_broker(
    emulator, kafka_settings, postgres_settings
):
    settings = make_settings(
        emulator[0],
        kafka=kafka_settings,
        postgres=postgres_settings,
        client_secret="not-the-secret",
    )
    health = Health()
    async with bootstrap(settings, health=health) as runtime:
        ready, checks = await health.readiness()
        assert not ready
        assert checks["dataconnect_token"] is False
        assert checks["postgres"] is True
        status, _ = await _readyz(health)
        assert status == 503
        assert await runtime.broker_ready() is True
    # a broker nobody listens for is not ready (the check bootstrap registers)
    nobody = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    dead = KafkaPublisher(nobody, client_id="t")
    try:
        assert await dead.reachable(within_s=1) is False
    finally:
        await dead.stop()


@pytest_asyncio.fixture(params=["memory", "postgres"])
async def repo(request, pg_pool) -> AsyncIterator[tuple[Repository, object]]:
    """Both implementations, seeded the way production seeds them."""
    if request.param == "memory":
        memory = MemoryRepository()

        async def consent_memory() -> None:
            now = datetime.now(UTC)
            memory.add_consent(PRM, now, now + timedelta(days=365))

        memory.buildings[PRM] = None
        yield memory, consent_memory
        return
    await pg_pool.execute(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector) "
        "VALUES ($1, 'prm', 'electricity', 'consumption', 'residential')",
        PRM,
    )
    who = await person(pg_pool)

    async def consent_postgres() -> None:
        async with pg_pool.acquire() as conn, conn.transaction():
            await record_prm_consents(
                conn,
                person_id=who,
                prms=[PRM],  # type: ignore[list-item]
                now=datetime.now(UTC),
                duration="P1Y",
                verified_by="test-operator",  # the memory repository's consents
            )

    yield PostgresRepository(pg_pool), consent_postgres


async def test_both_repositories_keep_the_same_rules(repo):
    repository, consent = repo
    now = datetime.now(UTC)
    d = [date(2026, 11, 1) + timedelta(days=i) for i in range(10)]
    await consent()
    assert await repository.consented_prms(now + timedelta(seconds=1)) == [PRM]

    started = await repository.start_cursor(PRM, DC, d[0])
    assert (started.history_from, started.fetched_until) == (d[0], d[0])
    assert await repository.start_cursor(PRM, DC, d[5]) == started  # kept

    # a window with two missing days: cursor moves, holes recorded, not yet due
    await repository.advance(PRM, DC, d[5], [d[1], d[2]], "no_data_found", now)
    state = await repository.cursor(PRM, DC)
    assert state is not None
    assert state.fetched_until == d[5]
    assert await repository.due_holes(PRM, DC, now - timedelta(1)) == []
    assert await repository.due_holes(PRM, DC, now) == [d[1], d[2]]
    await repository.advance(PRM, DC, d[3], [], "", now)  # never backwards
    state = await repository.cursor(PRM, DC)
    assert state is not None
    assert state.fetched_until == d[5]

    # refill: d1 came, d2 still missing (rescheduled), then closed for good
    later = now + timedelta(hours=6)
    await repository.refill(PRM, DC, [d[1], d[2]], [d[2]], "late", later)
    assert await repository.due_holes(PRM, DC, later) == [d[2]]
    await repository.refill(PRM, DC, [d[2]], [], "", later, never="before_consent")
    assert await repository.due_holes(PRM, DC, later) == []
    await repository.refill(PRM, DC, [], [d[2]], "again", later)  # resolved stays
    assert await repository.due_holes(PRM, DC, later) == []

    # customers v5: unknown commune, later activation wins, an earlier one not
    placement = await repository.save_usage_point(
        PRM,
        Contract(6.0, "BTINFCUST", None, "SERVC", None, d[1], {}),
        Address("99999", 45.0, 5.0, {}),
    )
    assert placement == "unknown_commune"
    await repository.record_activation(PRM, d[3])
    await repository.record_activation(PRM, d[2])
    assert await repository.activation_date(PRM) == d[3]
    known = await repository.usage_point(PRM, timedelta(days=30))
    assert known is not None
    assert known.fresh
    assert known.last_activation_date == d[3]

    # revoked upstream: every stream stops, the consent is revoked
    await repository.start_cursor(PRM, Stream.LOAD_CURVE, d[0])
    revoked = await repository.stop_prm(PRM, "consent_revoked", now)
    assert len(revoked) == 1
    for stream in (DC, Stream.LOAD_CURVE):
        state = await repository.cursor(PRM, stream)
        assert state is not None
        assert state.stopped_reason == "consent_revoked"
    assert await repository.consented_prms(now + timedelta(seconds=1)) == []
    assert await repository.resume_reconsented() == 0
    await consent()  # the resident consents again
    assert await repository.resume_reconsented() == 2
    state = await repository.cursor(PRM, DC)
    assert state is not None
    assert state.stopped_reason is None


async def test_a_cycle_collects_the_neighbourhoods_round_robin(pg_pool):
    """The demo territory's consented PRMs come in turns over their IRIS (the
    first of each neighbourhood, then the second of each...), unplaced ones last:
    a backfill feeds every neighbourhood's aggregates from its first minute."""
    from energy_store import demo
    from energy_store.loader import load_territory

    territory = demo.build()
    await load_territory(pg_pool, territory)
    await pg_pool.execute(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector) "
        "VALUES ($1, 'prm', 'electricity', 'consumption', 'residential')",
        PRM,  # consented, not placed in any building
    )
    async with pg_pool.acquire() as conn, conn.transaction():
        await record_prm_consents(
            conn,
            person_id=await person(pg_pool),
            prms=[PRM],  # type: ignore[list-item]
            now=datetime.now(UTC) - timedelta(seconds=1),
            duration="P1Y",
            verified_by="test-operator",
        )
    iris_of = {
        r["meter_id"]: r["iris"]
        for r in await pg_pool.fetch(
            "SELECT m.meter_id, b.iris FROM meters m "
            "LEFT JOIN buildings b USING (building_id) WHERE m.scheme = 'prm'"
        )
    }
    order = await PostgresRepository(pg_pool).consented_prms(datetime.now(UTC))
    assert len(order) == len(set(order)) == len(territory.prms) + 1
    assert set(order) == {str(p) for p in territory.prms} | {PRM}
    assert order[-1] == PRM  # unplaced: last
    hoods = {iris_of[p] for p in order[:-1]}
    assert len(hoods) == len(territory.neighbourhoods) > 1
    first_round = order[: len(hoods)]
    assert {iris_of[p] for p in first_round} == hoods  # one of each IRIS first
    # turns never go back: no IRIS gets its n-th PRM before every IRIS that has
    # one got its (n-1)-th
    seen: dict[str, int] = {}
    turns = []
    for prm in order[:-1]:
        seen[iris_of[prm]] = seen.get(iris_of[prm], 0) + 1
        turns.append(seen[iris_of[prm]])
    assert turns == sorted(turns)
    assert turns[-1] > 1
    # within an IRIS, by PRM (a stable order from cycle to cycle)
    for hood in hoods:
        mine = [p for p in order if iris_of[p] == hood]
        assert mine == sorted(mine)
