"""Demo homes with gas occupy their PCE like their PRM, so ``meter_access()`` gates
gas exactly as it gates electricity."""

from __future__ import annotations

import asyncpg
import pytest

from energy_core.domain.readings import Energy
from energy_store import demo
from energy_store.loader import load_territory

pytestmark = pytest.mark.integration


async def test_every_demo_home_with_gas_occupies_and_reads_its_pce(
    pg_pool: asyncpg.Pool,
) -> None:
    territory = demo.build()
    await load_territory(pg_pool, territory)
    gas = {str(m.meter) for m in territory.meters if m.energy is Energy.GAS}
    homes = [r for r in territory.residents if any(m in gas for m in r.meters)]
    assert homes, "the demo has homes heated by gas"
    for resident in homes:
        person = await pg_pool.fetchval(
            "SELECT person_id FROM people WHERE email = $1", resident.email
        )
        points = {m for m in resident.meters if m in gas}
        occupied = {
            r["delivery_point_id"]
            for r in await pg_pool.fetch(
                "SELECT delivery_point_id FROM occupancies WHERE person_id = $1"
                " AND ends_at IS NULL",
                person,
            )
        }
        readable = {
            r["meter_id"]
            for r in await pg_pool.fetch(
                "SELECT meter_id FROM meter_access($1, now())", person
            )
        }
        assert points <= occupied, resident.email
        assert points <= readable, resident.email
    # and nobody else reads them: one reader per home PCE, its occupant
    readers = {
        r["meter_id"]: r["n"]
        for r in await pg_pool.fetch(
            "SELECT a.meter_id, count(DISTINCT p.person_id) AS n FROM people p,"
            " meter_access(p.person_id, now()) a WHERE a.meter_id = ANY($1::text[])"
            " GROUP BY a.meter_id",
            sorted({m for r in homes for m in r.meters if m in gas}),
        )
    }
    assert set(readers.values()) == {1}


async def test_occupancy_sources_of_both_branches_survive(
    pg_pool: asyncpg.Pool,
) -> None:
    """ingest-grdf and ingest-sge both widen the occupancies' source CHECK, in
    whatever order alembic runs their branches: both values stay allowed."""
    definition = await pg_pool.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conname = 'occupancies_source_check'"
    )
    for source in ("grdf-right", "sge-authorisation", "enedis-contract", "demo"):
        assert f"'{source}'" in definition, definition
