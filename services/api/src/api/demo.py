"""Demo accounts (dev stack only): every demo resident, one operator, one city key.

Never run with production settings: ``__main__`` calls it only when API_DEMO=true.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from api import auth
from api.reference import load_reference
from energy_store import demo as demo_territory

DEMO_PASSWORD = "sen1-demo"  # noqa: S105 - demo only, printed on purpose
OPERATOR_EMAIL = "operator@sen1.demo"
DEMO_KEY_DAYS = 30


async def seed(pool: asyncpg.Pool) -> dict[str, object]:
    """Creates the accounts (idempotent), HP/HC contracts for demo PRMs, reference
    data, and a fresh city key for the demo commune (returned in clear, once)."""
    territory = demo_territory.build()
    async with pool.acquire() as conn, conn.transaction():
        await load_reference(conn)
        residents = []
        shared_hash = auth.hash_password(DEMO_PASSWORD)  # one argon2 hash for all
        for resident in territory.residents:
            person_id = await conn.fetchval(
                "SELECT person_id FROM people WHERE email = $1", resident.email
            )
            if person_id is None:
                continue
            await auth.create_account(
                conn,
                email=resident.email,
                password=DEMO_PASSWORD,
                role="resident",
                person_id=person_id,
                password_hash=shared_hash,
            )
            residents.append(resident.email)
        await auth.create_account(
            conn, email=OPERATOR_EMAIL, password=DEMO_PASSWORD, role="operator"
        )
        await conn.executemany(
            """INSERT INTO api_meter_contracts (meter_id, option, kva, offpeak)
               VALUES ($1, 'hphc', 6, '{"22:00-06:00"}') ON CONFLICT DO NOTHING""",
            [(str(p),) for p in territory.prms],
        )
        key = await auth.create_api_key(
            conn,
            label="demo city",
            scope="commune",
            scope_id=str(territory.commune),
            # A fresh key per start: each one expires rather than piling up valid.
            expires_at=datetime.now(UTC) + timedelta(days=DEMO_KEY_DAYS),
        )
    return {
        "residents": residents,
        "operator": OPERATOR_EMAIL,
        "city_key": key,
        "password": DEMO_PASSWORD,
        "commune": str(territory.commune),
    }
