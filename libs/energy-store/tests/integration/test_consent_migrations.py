"""Migrations 0004/0005 on existing data: callback consents become pending, the rest
verified, and a point held by exactly one person gets their occupancy."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from alembic import command

from energy_store import migrate

pytestmark = pytest.mark.integration


async def test_existing_consents_are_classified_and_occupied(sen1_postgres) -> None:
    name = f"m_{uuid.uuid4().hex[:12]}"
    sen1_postgres.create_database(name)
    dsn = sen1_postgres.dsn(name)
    command.upgrade(migrate.alembic_config(dsn), "0003_delivery_points")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO meters (meter_id, scheme, energy, direction, sector) VALUES
               ('11111111111111', 'prm', 'electricity', 'consumption', 'residential'),
               ('22222222222222', 'prm', 'electricity', 'consumption', 'residential');
               INSERT INTO people (person_id, display_name) VALUES
               ('00000000-0000-0000-0000-00000000000a', 'owner'),
               ('00000000-0000-0000-0000-00000000000b', 'forger');
               INSERT INTO consents (person_id, meter_id, purpose, source, starts_at,
                                     expires_at) VALUES
               ('00000000-0000-0000-0000-00000000000a', '11111111111111', 'c', 'demo',
                '2025-01-01', '2027-01-01'),
               ('00000000-0000-0000-0000-00000000000b', '11111111111111', 'c',
                'enedis', '2026-01-01', '2027-01-01'),
               ('00000000-0000-0000-0000-00000000000b', '22222222222222', 'c',
                'enedis', '2026-01-01', '2027-01-01')"""
        )
    finally:
        await conn.close()
    migrate.upgrade(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        states = {
            (str(r["person_id"])[-1], r["meter_id"][0]): r["verification"]
            for r in await conn.fetch(
                "SELECT person_id, meter_id, verification FROM consents"
            )
        }
        occupancies = await conn.fetch(
            "SELECT person_id, delivery_point_id, starts_at, source FROM occupancies"
        )
        readable = await conn.fetch(
            "SELECT meter_id FROM meter_access($1, now())",
            uuid.UUID("00000000-0000-0000-0000-00000000000b"),
        )
    finally:
        await conn.close()
    # the callback's consents were never verified: they grant nothing any more
    assert states == {
        ("a", "1"): "verified",
        ("b", "1"): "pending",
        ("b", "2"): "pending",
    }
    assert [
        (str(o["person_id"])[-1], o["delivery_point_id"], o["source"])
        for o in occupancies
    ] == [("a", "11111111111111", "migration")]
    assert readable == []
    command.downgrade(migrate.alembic_config(dsn), "0003_delivery_points")
