"""The new flux kinds from emulators/sge over real SFTP, the embedded broker and
PostgreSQL: a C1-C4 point subscribed to its curve gets an R4Q file at night
(start-stamped 10-min points), and bulk-order results (R63 curves, C68 technical
data, stored per PRM) land in the drop's ``R63_R64_R65_R66_R67_C68`` folder under the names of
the interop note; the collector built by bootstrap() picks all of them up once."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from energy_core.domain import Stamp
from energy_core.domain.time import PARIS
from ingest_sge.bootstrap import bootstrap
from ingest_sge.client.soap import SgeSoapClient
from sge_emulator import Emulator
from sge_emulator.state import Order

from .emulated import advance, drop_settings, mtls, published, soap_config, subscribe

pytestmark = pytest.mark.integration

C4 = "98800003605600"  # a homologation C2-C4 point of the access-services model
C5 = "25150217034354"  # a homologation C5 point of the M023 fine-data order


async def test_r4q_and_bulk_results_are_picked_up_from_the_emulator_drop(
    emulator: Emulator,
    tmp_path: Path,
    kafka_settings: Any,
    postgres_settings: Any,
    pg_pool: Any,
) -> None:
    emulator.state.subscriptions.clear()
    async with mtls(emulator) as client:
        await subscribe(client, C4)
        # bulk orders as the M023 services record them (their SOAP side is
        # another lane's): the emulator drops their results at night
        emulator.state.orders["M0TEST01"] = Order(
            "M0TEST01",
            "MFI",
            [C5],
            "COURBES",
            date(2026, 11, 20),
            date(2026, 11, 22),
        )
        emulator.state.orders["M0TEST02"] = Order(
            "M0TEST02", "ITC", [C5, C4], None, None, None
        )
        await advance(client)
    settings = drop_settings(
        emulator, tmp_path / "spool", kafka_settings, postgres_settings
    )
    async with bootstrap(settings, stop=asyncio.Event()) as runtime:
        results = await runtime.collector.poll_once()
        names = sorted(r.name for r in results)
        assert any("_R4Q_CDC_" in n for n in names), names
        assert any(n.startswith("ENEDIS_R63_P_CdC_M0TEST01_00001_") for n in names)
        assert any(n.startswith("ENEDIS_C68_P_ITC_M0TEST02_00001_") for n in names)
        assert len(names) == 3
        assert {r.outcome for r in results} == {"done"}
        (c68,) = [r for r in results if "_C68_" in r.name]
        assert c68.technical == 2
        assert await runtime.collector.poll_once() == []  # each file once

    batches = await published(kafka_settings)
    by_meter = {str(b.meter): b for b in batches}
    assert set(by_meter) == {C4, C5}
    curve = by_meter[C4]
    assert curve.stamped is Stamp.START
    assert len(curve.readings) == 144  # 2026-11-23: 24 h of 10-min points
    assert curve.readings[0].start == datetime(2026, 11, 23, tzinfo=PARIS)
    assert all(r.end - r.start == timedelta(minutes=10) for r in curve.readings)
    r63 = by_meter[C5]
    assert r63.stamped is Stamp.END
    assert len(r63.readings) == 96  # 20 and 21 November, 30-min END-stamped
    assert r63.readings[0].start == datetime(2026, 11, 20, tzinfo=PARIS)
    assert await pg_pool.fetchval("SELECT count(*) FROM sge_flux_files") == len(names)
    rows = await pg_pool.fetch(
        "SELECT prm, segment, subscribed_kva, source_file FROM sge_technical_data"
        " ORDER BY prm"
    )
    assert [(r["prm"], r["segment"]) for r in rows] == [(C5, "C5"), (C4, "C4")]
    assert all(r["subscribed_kva"] > 0 for r in rows)
    assert all(r["source_file"].startswith("ENEDIS_C68_P_ITC_M0TEST02") for r in rows)


async def test_bulk_orders_through_the_soap_client_come_back_as_readings(
    emulator: Emulator,
    tmp_path: Path,
    kafka_settings: Any,
    postgres_settings: Any,
    pg_pool: Any,
) -> None:
    """The whole M023 chain: the zeep client orders over mTLS, a night passes,
    the collector finds R64 indexes and C68 data in the bulk folder by the
    interop note's names, and publishes / stores them once."""
    prms = ("25150217034354", "25825036170379")
    emulator.state.subscriptions.clear()
    client = SgeSoapClient(soap_config(emulator))
    try:
        indexes = await client.order_fine_data(
            prms, measure="INDEX", start=date(2026, 11, 16), end=date(2026, 11, 18)
        )
        technical = await client.order_technical_data(prms)
    finally:
        await client.aclose()
    async with mtls(emulator) as night:
        await advance(night)
    settings = drop_settings(
        emulator, tmp_path / "spool", kafka_settings, postgres_settings
    )
    async with bootstrap(settings, stop=asyncio.Event()) as runtime:
        results = {r.name: r for r in await runtime.collector.poll_once()}
        assert await runtime.collector.poll_once() == []

    (r64,) = [r for n, r in results.items() if f"_R64_P_INDEX_{indexes}_00001_" in n]
    (c68,) = [r for n, r in results.items() if f"_C68_P_ITC_{technical}_00001_" in n]
    assert (r64.outcome, c68.outcome, c68.technical) == ("done", "done", 2)
    batches = await published(kafka_settings)
    assert {str(b.meter) for b in batches} == set(prms)
    for batch in batches:
        # R64 day D = the register at the START of D (00:00 Paris), 16..18 Nov
        starts = sorted({r.start for r in batch.readings})
        assert starts[0] == datetime(2026, 11, 16, tzinfo=PARIS)
        assert all(r.start == r.end for r in batch.readings)  # index points
    stored = await pg_pool.fetchval("SELECT count(*) FROM sge_technical_data")
    assert stored == 2
