"""ingest-grdf's status row, written by the real service against the emulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import pytest

from energy_core.domain.time import PARIS
from energy_core.testing import InMemoryPublisher

from .conftest import Emulator
from .test_grdf_collection import service_on

pytestmark = pytest.mark.integration


async def test_requests_caps_and_the_shared_count_reach_postgres(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    emulator: Emulator = await emulator_factory(requests_per_second=50)
    async with service_on(
        emulator, pg_pool, InMemoryPublisher(), daily_cap=100,
        requests_per_second=40,
    ) as runtime:  # fmt: skip
        status = runtime.status
        assert status is not None
        for _ in range(5):
            await runtime.client.rights()
        await status.report_once()
    row = await pg_pool.fetchrow("SELECT * FROM ingest_status")
    assert row["source"] == "grdf"
    assert row["day"] == datetime.now(PARIS).date()
    assert row["calls_today"] == 5
    assert row["rate_per_s"] == 0.0  # one report: no rate yet
    assert (row["cap_per_s"], row["cap_per_day"], row["cap_per_hour"]) == (
        40, 100, None,
    )  # fmt: skip
    assert row["backlog_unit"] == "PCEs"
    assert row["calls_last_hour"] is None  # no hourly quota at GRDF
    # the page's day count: the limiter's shared row agrees with the status
    used = await pg_pool.fetchval("SELECT sum(used) FROM grdf_quota")
    assert used == 5
