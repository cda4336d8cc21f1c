"""asyncpg pools built from PostgresSettings."""

from __future__ import annotations

import json

import asyncpg

from energy_core.settings import PostgresSettings


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb <-> Python objects, so GeoJSON geometries round-trip as dicts.
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def create_pool(settings: PostgresSettings, **options: object) -> asyncpg.Pool:
    """A connection pool with the jsonb codec installed."""
    pool = await asyncpg.create_pool(
        settings.dsn.get_secret_value(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        init=_init_connection,
        **options,
    )
    if pool is None:  # only when the pool is created without awaiting it
        raise RuntimeError("asyncpg did not create a pool")
    return pool
