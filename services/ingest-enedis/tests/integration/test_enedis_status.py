"""Quota use and backlog written for the operator page by the real collector.

The collector, built by its composition root, collects a PRM's history from the
emulator over HTTP; the status reporter then writes the calls the limiter let
through, the caps and the backlog to ``ingest_status`` in PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from energy_core.domain.time import PARIS
from ingest_enedis import status
from ingest_enedis.bootstrap import bootstrap

from .conftest import NOW, make_settings
from .test_enedis_collection import PRM0, _consent

pytestmark = pytest.mark.integration


async def test_calls_caps_and_backlog_reach_postgres(emulator, kafka_settings, pg_pool):
    await _consent(pg_pool, PRM0)
    settings = make_settings(
        emulator[0], kafka=kafka_settings, requests_per_hour=5000,
        status_interval_s=0.05,
    )  # fmt: skip
    async with bootstrap(settings, pool=pg_pool, clock=lambda: NOW) as runtime:
        reporter = status.reporter(settings, pg_pool, runtime.client.limiter)
        reporter.now = lambda: NOW.astimezone(PARIS)  # the test's day
        await reporter.report_once()  # before: nothing asked yet
        before = await pg_pool.fetchrow("SELECT * FROM ingest_status")
        report = await runtime.collector.run_cycle()
        assert not report.failed
        stop = asyncio.Event()
        task = asyncio.create_task(reporter.run(stop))
        await asyncio.sleep(0.2)
        stop.set()
        await task
    assert before["calls_today"] == 0
    rows = await pg_pool.fetch("SELECT * FROM ingest_status")
    assert len(rows) == 1  # one row per process and day, updated in place
    row = rows[0]
    assert row["source"] == "enedis"
    assert row["day"] == NOW.astimezone(PARIS).date()
    made = runtime.client.limiter.acquired
    assert made > 36  # three years of daily windows and more
    assert row["calls_today"] == made
    assert row["calls_last_hour"] == made  # all within the hour (cap 5000)
    assert (row["cap_per_s"], row["cap_per_hour"], row["cap_per_day"]) == (
        300, 5000, 120_000,
    )  # fmt: skip
    assert row["backlog_unit"] == "days"
    assert row["backlog"] == 0  # the cycle collected everything there was
    assert row["updated_at"] > before["updated_at"]
    assert isinstance(row["updated_at"], datetime)


def test_backlog_is_the_backfill_gauge() -> None:
    from ingest_enedis import metrics

    metrics.BACKFILL_DAYS.set(123)
    try:
        assert status.backlog_days() == 123
    finally:
        metrics.BACKFILL_DAYS.set(0)
