"""Migration 1504 widens the occupancies' source CHECK from its current values:
a value another branch added (ingest-grdf widens the same CHECK) survives
whichever ran first, and the downgrade removes only its own."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from alembic import command

from energy_store import migrate

pytestmark = pytest.mark.integration

CHECK = """SELECT pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conname = 'occupancies_source_check'"""


async def test_the_source_check_keeps_other_branches_values(sen1_postgres) -> None:
    name = f"m_{uuid.uuid4().hex[:12]}"
    sen1_postgres.create_database(name)
    dsn = sen1_postgres.dsn(name)
    config = migrate.alembic_config(dsn)
    command.upgrade(config, "0005_occupancy")
    conn = await asyncpg.connect(dsn)
    try:  # another branch widened the CHECK first
        await conn.execute(
            """ALTER TABLE occupancies DROP CONSTRAINT occupancies_source_check;
               ALTER TABLE occupancies ADD CONSTRAINT occupancies_source_check
               CHECK (source IN ('enedis-contract', 'operator', 'demo', 'migration',
                                 'other-branch'))"""
        )
        command.upgrade(config, "1504_ingest_sge_enrolment")
        widened = await conn.fetchval(CHECK)
        command.downgrade(config, "1501_ingest_sge")
        narrowed = await conn.fetchval(CHECK)
        command.upgrade(config, "1504_ingest_sge_enrolment")
        again = await conn.fetchval(CHECK)
        tables = await conn.fetchval("SELECT to_regclass('sge_sites') IS NOT NULL")
    finally:
        await conn.close()
    for value in ("enedis-contract", "operator", "demo", "migration", "other-branch"):
        assert f"'{value}'" in widened
        assert f"'{value}'" in narrowed
    assert "'sge-authorisation'" in widened
    assert "'sge-authorisation'" not in narrowed
    assert again == widened  # the rewritten form parses back the same
    assert tables
