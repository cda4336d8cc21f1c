"""Fixtures of the api tests: a seeded database, the app, clients per role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio

from api import auth
from api.main import create_app
from api.settings import Settings
from energy_core.secrets import SecretBox
from energy_core.settings import PostgresSettings
from energy_store import demo
from energy_store.loader import load_territory

PASSWORD = "correct horse battery"


async def add_readings(
    conn: asyncpg.Connection,
    meter_id: str,
    start: datetime,
    values_wh: list[float],
    *,
    step: timedelta = timedelta(minutes=30),
) -> int:
    """Writes consecutive [start, end) energy intervals; returns the series id."""
    series_id: int = await conn.fetchval(
        """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension, unit)
           VALUES ($1, $2, 'prm', 'consumption', 'interval', 'energy', 'Wh')
           ON CONFLICT (urn) DO UPDATE SET unit = EXCLUDED.unit RETURNING series_id""",
        f"urn:dev:prm:{meter_id}_consumption/energy/active",
        meter_id,
    )
    await conn.executemany(
        """INSERT INTO readings (series_id, start_ts, end_ts, value, quality)
           VALUES ($1, $2, $3, $4, 1)""",
        [
            (series_id, start + i * step, start + (i + 1) * step, v)
            for i, v in enumerate(values_wh)
        ],
    )
    return series_id


@dataclass
class World:
    """The demo territory plus two resident accounts, an operator and city keys."""

    pool: asyncpg.Pool
    territory: demo.DemoTerritory
    resident_a: str
    resident_b: str
    meter_a: str
    meter_b: str
    operator: str
    commune_key: str
    other_iris_key: str


@pytest_asyncio.fixture
async def world(pg_pool: asyncpg.Pool) -> World:
    territory = demo.build()
    await load_territory(pg_pool, territory)
    a, b = territory.residents[0], territory.residents[1]
    async with pg_pool.acquire() as conn:
        tokens = []
        for resident in (a, b):
            person = await conn.fetchval(
                "SELECT person_id FROM people WHERE email = $1", resident.email
            )
            await auth.create_account(
                conn,
                email=resident.email,
                password=PASSWORD,
                role="resident",
                person_id=person,
            )
            tokens.append(
                await auth.login(
                    conn,
                    email=resident.email,
                    password=PASSWORD,
                    ttl=timedelta(hours=1),
                )
            )
        await auth.create_account(
            conn, email="op@example.org", password=PASSWORD, role="operator"
        )
        op = await auth.login(
            conn, email="op@example.org", password=PASSWORD, ttl=timedelta(hours=1)
        )
        commune_key = await auth.create_api_key(
            conn, label="city", scope="commune", scope_id=str(territory.commune)
        )
        other_iris = str(territory.neighbourhoods[-1].iris)
        iris_key = await auth.create_api_key(
            conn, label="iris", scope="neighbourhood", scope_id=other_iris
        )
    assert all(tokens)
    assert op
    return World(
        pg_pool,
        territory,
        str(tokens[0]),
        str(tokens[1]),
        a.meters[0],
        b.meters[0],
        str(op),
        commune_key,
        iris_key,
    )


@pytest_asyncio.fixture
async def client(
    world: World, postgres_settings: PostgresSettings
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        postgres=postgres_settings,
        subscribe_alerts=False,
        cookie_secure=False,
        SEN1_SECRET_KEY=SecretBox.generate_key(),
        # The tests' webhook receivers listen on loopback, which production refuses.
        webhook_allow_networks=["127.0.0.0/8", "::1/128"],
    )
    app = create_app(settings, pool=world.pool)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sen1.test"
        ) as c:
            yield c


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def new_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def put_readings():
    """The add_readings helper, as a fixture (test modules cannot import conftest)."""
    return add_readings


@pytest.fixture
def auth_header():
    """Bearer header builder."""
    return bearer
