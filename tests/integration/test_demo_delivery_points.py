"""Demo homes with a PRM and a FluksoMeter count once, aggregator to api egress.

Five Ouest Nord (381510101) houses send their PRM's settled load curve AND their FluksoMeter's
minutes through the aggregator's real write path; the api's rollup route must see
five delivery points (suppressed under the rule of 10), never ten. Ten such houses
pass, with the sum of their settled data, not that plus the sensors'.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio

from aggregator.pipeline import Pipeline
from aggregator.territory import Territory
from api import auth
from api.main import create_app
from api.settings import Settings as ApiSettings
from energy_core.domain.ids import FluksoSensorId, Prm
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
from energy_core.secrets import SecretBox
from energy_core.settings import PostgresSettings
from energy_core.wire import batch_to_proto
from energy_store import demo
from energy_store.loader import load_territory

pytestmark = pytest.mark.integration

VILLAGE_SUD = "381510101"  # Ouest Nord, the Flukso houses (demo.FLUKSO_IRIS)
DAY = datetime(2026, 3, 1, 23, tzinfo=UTC)  # 2 March 00:00 in Paris
PARAMS = {"start": "2026-03-02", "end": "2026-03-03", "bucket": "P1D"}


def _batch(meter: Prm | FluksoSensorId, step: timedelta, values: list[float]) -> bytes:
    source = Source.FLUKSO if isinstance(meter, FluksoSensorId) else (
        Source.ENEDIS_DATACONNECT
    )  # fmt: skip
    readings = tuple(
        Reading(Kind.INTERVAL, Unit.WH, DAY + i * step, DAY + (i + 1) * step, v,
                Quality.RAW, Direction.CONSUMPTION)
        for i, v in enumerate(values)
    )  # fmt: skip
    message = ReadingBatch(meter, source, Energy.ELECTRICITY, readings)
    return batch_to_proto(message).SerializeToString()


@pytest_asyncio.fixture
async def homes(pg_pool: asyncpg.Pool) -> list[tuple[Prm, str, list[str]]]:
    """(PRM, building, consumption device series) of every demo Flukso house."""
    territory = demo.build()
    await load_territory(pg_pool, territory)
    prm_of = {
        m.building_id: m.meter
        for m in territory.meters
        if isinstance(m.meter, Prm) and m.building_id
    }
    out = []
    for device in territory.flukso_devices:
        series = sorted(
            {s.meter_id for s in device.sensors if s.direction is Direction.CONSUMPTION}
        )
        out.append((Prm(prm_of[device.building_id]), device.building_id, series))
    return out


@pytest_asyncio.fixture
async def city(
    pg_pool: asyncpg.Pool, postgres_settings: PostgresSettings
) -> AsyncIterator[httpx.AsyncClient]:
    async with pg_pool.acquire() as conn:
        key = await auth.create_api_key(
            conn, label="city", scope="commune", scope_id=str(demo.COMMUNE)
        )
    settings = ApiSettings(
        postgres=postgres_settings,
        subscribe_alerts=False,
        cookie_secure=False,
        SEN1_SECRET_KEY=SecretBox.generate_key(),
    )
    app = create_app(settings, pool=pg_pool)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://sen1.test",
            headers={"authorization": f"Bearer {key}"},
        ) as client:
            yield client


async def _send(pool: asyncpg.Pool, homes: list[tuple[Prm, str, list[str]]]) -> float:
    """Each home: its PRM's 48 half-hours (settled) and its sensors' 1,440 minutes,
    sensors first for half of them; returns the settled total (Wh)."""
    territory = Territory()
    async with pool.acquire() as conn:
        await territory.load(conn)
    pipeline = Pipeline(territory)
    settled = 0.0
    for i, (prm, _, sensors) in enumerate(homes):
        curve = [100.0 + i] * 48
        settled += sum(curve)
        values = [_batch(FluksoSensorId(s), timedelta(minutes=1), [2.5] * 1440)
                  for s in sensors]  # fmt: skip
        values.append(_batch(prm, timedelta(minutes=30), curve))
        if i % 2:
            values.reverse()
        for value in values:  # one transaction each: precedence across batches
            async with pool.acquire() as conn:
                await pipeline.process(conn, [value])
    return settled


async def _neighbourhood(client: httpx.AsyncClient) -> dict:
    r = await client.get(f"/v1/rollups/neighbourhood/{VILLAGE_SUD}", params=PARAMS)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    return item


async def test_five_homes_with_prm_and_fluksometer_are_five_points_suppressed(
    pg_pool: asyncpg.Pool, homes: list, city: httpx.AsyncClient
) -> None:
    assert len(homes) >= 10
    settled = await _send(pg_pool, homes[:5])
    stored = await pg_pool.fetchrow(
        "SELECT sum(value) AS v, sum(delivery_points) AS n FROM rollups "
        "WHERE scope = 'neighbourhood' AND scope_id = $1 AND bucket = 'P1D'",
        VILLAGE_SUD,
    )
    assert (stored["v"], stored["n"]) == (settled, 5)
    item = await _neighbourhood(city)
    assert item["suppressed"] is True
    assert item["value"] is None
    assert item["delivery_points"] is None
    # Each building is one home: its PRM's settled day, not that plus its sensors.
    for i, (_, building, _) in enumerate(homes[:5]):
        row = await pg_pool.fetchrow(
            "SELECT value, delivery_points, quality FROM rollups WHERE scope = "
            "'building' AND scope_id = $1 AND bucket = 'P1D' AND delivery_points > 0",
            building,
        )
        assert tuple(row) == (48 * (100.0 + i), 1, "raw")


async def test_ten_such_homes_pass_with_their_settled_sum(
    pg_pool: asyncpg.Pool, homes: list, city: httpx.AsyncClient
) -> None:
    settled = await _send(pg_pool, homes[:10])
    item = await _neighbourhood(city)
    assert item["suppressed"] is False
    assert (item["value"], item["delivery_points"], item["quality"]) == (
        settled, 10, "raw",
    )  # fmt: skip


async def test_live_load_registry_bounds_count_houses_not_sensors(
    pg_pool: asyncpg.Pool, homes: list
) -> None:
    """The live-load gate's registry bounds count delivery points (PRMs and PCEs):
    a house's sensors add no consumer; a PV sensor makes its house a producer."""
    from api import queries

    territory = demo.build()
    here = {b.building_id for b in territory.buildings if b.iris == VILLAGE_SUD}
    points = [m for m in territory.meters
              if m.building_id in here and m.is_delivery_point]  # fmt: skip
    pv_houses = {
        f.building_id
        for f in territory.flukso_devices
        if any(s.direction is Direction.PRODUCTION for s in f.sensors)
    }
    await pg_pool.execute(
        "INSERT INTO neighbourhood_load VALUES ($1, now(), 1, 0, 25, 3, 0)",
        VILLAGE_SUD,
    )
    (row,) = await pg_pool.fetch(queries.LIVE_LOAD, None, VILLAGE_SUD)
    assert (row["consumers"], row["producers"]) == (len(points), len(pv_houses))
    sensors = [m for m in territory.meters if m.building_id in here
               and not m.is_delivery_point]  # fmt: skip
    assert len(sensors) >= len(homes)  # what the old count added on top
    assert len(pv_houses) == 11
