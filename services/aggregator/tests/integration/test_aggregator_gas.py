"""Gas through the aggregator: a GRDF gas day (06:00 -> 06:00 Paris) in kWh and
m³, Provisoire (raw) then Définitive (corrected) with another value.

The rollups keep gas apart from electricity (``energy`` is part of their key)
and move by the difference only when the definitive value replaces the
provisional one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from energy_core.domain.ids import Pce
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    Source,
)
from energy_core.domain.units import Unit
from energy_core.wire import batch_to_proto

from .conftest import METERS, batch
from .test_aggregator_pipeline import make_pipeline, run

pytestmark = pytest.mark.integration

PCE = "21380000000001"
# 24 Oct 2026 06:00 Paris -> 25 Oct 06:00 Paris: a 25-hour gas day
START = datetime(2026, 10, 24, 4, tzinfo=UTC)
END = datetime(2026, 10, 25, 5, tzinfo=UTC)


def gas_day(kwh: float, m3: float, quality: Quality) -> bytes:
    readings = tuple(
        Reading(Kind.INTERVAL, unit, START, END, value, quality, Direction.CONSUMPTION)
        for unit, value in ((Unit.KWH, kwh), (Unit.M3, m3))
    )
    message = ReadingBatch(
        meter=Pce(PCE), source=Source.GRDF_ADICT, energy=Energy.GAS, readings=readings
    )
    return batch_to_proto(message).SerializeToString()


async def monthly(pool: asyncpg.Pool) -> dict[tuple[str, str, str], float]:
    rows = await pool.fetch(
        "SELECT energy, quality, unit, value FROM rollups WHERE scope = 'building'"
        " AND scope_id = 'B1' AND bucket = 'P1M'"
    )
    return {(r["energy"], r["quality"], r["unit"]): r["value"] for r in rows}


async def test_definitive_gas_moves_rollups_by_the_difference(
    territory_db: asyncpg.Pool,
) -> None:
    await territory_db.execute(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector, building_id)"
        " VALUES ($1, 'pce', 'gas', 'consumption', 'residential', 'B1')",
        PCE,
    )
    pipeline = await make_pipeline(territory_db)
    electricity = batch(next(iter(METERS)), START, [500.0])
    await run(territory_db, pipeline, [gas_day(120, 10.5, Quality.RAW), electricity])
    first = await monthly(territory_db)
    assert first[("gas", "raw", "Wh")] == 120_000  # kWh stored canonically in Wh
    assert first[("gas", "raw", "m3")] == 10.5
    assert first[("electricity", "raw", "Wh")] == 500  # never summed with gas

    # Définitive, 118 kWh: the raw bucket loses the day, the corrected one gains it
    await run(territory_db, pipeline, [gas_day(118, 10.3, Quality.CORRECTED)])
    second = await monthly(territory_db)
    assert second[("gas", "raw", "Wh")] == 0
    assert second[("gas", "corrected", "Wh")] == 118_000
    assert second[("gas", "corrected", "m3")] == pytest.approx(10.3)
    assert second[("electricity", "raw", "Wh")] == 500
    total = sum(v for (e, _, u), v in second.items() if e == "gas" and u == "Wh")
    assert total == 118_000  # moved by the difference (-2 kWh), not added twice

    # the provisional value published again loses to the definitive one
    assert await run(territory_db, pipeline, [gas_day(120, 10.5, Quality.RAW)]) == 0
