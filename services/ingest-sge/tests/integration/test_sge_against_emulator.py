"""ingest-sge against emulators/sge: real mTLS, real SFTP, the embedded broker and
PostgreSQL. Subscribe a C5 point (SOAP), let a night pass, and the collector
built by bootstrap() publishes the R50 file's readings; the zeep client reads the
same point's curve over mutual TLS and gets SGT4L8 for 8 days."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from energy_core.domain.time import PARIS
from ingest_sge.bootstrap import bootstrap
from ingest_sge.client.faults import PeriodRefusedError
from ingest_sge.client.soap import SgeSoapClient
from ingest_sge.mapping.measures import curve_batch
from ingest_sge.portfolio import Site
from ingest_sge.reader import AuthorisationMissingError, MeasuresReader
from ingest_sge.repository.authorisations import SGE_PURPOSE, PostgresAuthorisations
from ingest_sge.settings import Settings

from .emulated import (
    advance,
    drop_settings,
    mtls,
    published,
    soap_config,
    soap_kit,
    subscribe,
)

pytestmark = pytest.mark.integration

C5 = "25162373298976"  # a homologation C5 point of the contract


async def test_subscribed_point_files_reach_the_readings_topic(
    emulator, tmp_path, kafka_settings, postgres_settings, pg_pool
):
    emulator.state.subscriptions.clear()
    async with mtls(emulator) as client:
        await subscribe(client, C5, "CDC")
        await advance(client)
    settings = drop_settings(
        emulator, tmp_path / "spool", kafka_settings, postgres_settings
    )
    async with bootstrap(settings, stop=asyncio.Event()) as runtime:
        assert runtime.portfolio is None  # no SGE kit configured: no SOAP client
        results = await runtime.collector.poll_once()
        assert [(r.outcome, r.key_id) for r in results] == [("done", "1")]
        assert await runtime.collector.poll_once() == []  # handled once
    batches = await published(kafka_settings)
    assert [str(b.meter) for b in batches] == [C5]
    assert len(batches[0].readings) == 48  # 2026-11-23, a 24-hour day
    assert await pg_pool.fetchval("SELECT count(*) FROM sge_flux_files") == 1


async def test_the_zeep_client_reads_a_curve_and_maps_sgt4l8(emulator):
    client = SgeSoapClient(soap_config(emulator))
    try:
        answer = await client.detailed_measures(
            C5,
            measure="COURBE",
            physical="PA",
            start=date(2026, 11, 2),
            end=date(2026, 11, 3),
        )
        with pytest.raises(PeriodRefusedError) as refused:
            await client.detailed_measures(
                C5,
                measure="COURBE",
                physical="PA",
                start=date(2026, 11, 1),
                end=date(2026, 11, 9),
            )
    finally:
        await client.aclose()
    batch = curve_batch(C5, answer, end_stamped=True)
    assert len(batch.readings) == 48
    assert refused.value.code == "SGT4L8"


async def _sge_consent(pool: Any, prm: str) -> str:
    person = await pool.fetchval(
        "INSERT INTO people (display_name) VALUES ('Ville') RETURNING person_id"
    )
    await pool.execute(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector) VALUES "
        "($1, 'prm', 'electricity', 'consumption', 'professional') "
        "ON CONFLICT DO NOTHING",
        prm,
    )
    return str(
        await pool.fetchval(
            "INSERT INTO consents (person_id, meter_id, purpose, source, starts_at, "
            "expires_at, verification, verified_at, verified_by) VALUES "
            "($1, $2, $3, 'enedis', now() - interval '1 day', now() + interval '1 year', "
            "'verified', now() - interval '1 day', 'test') RETURNING consent_id",
            person,
            prm,
            SGE_PURPOSE,
        )
    )


async def test_authorise_subscribe_night_readings(
    emulator, tmp_path, kafka_settings, postgres_settings, pg_pool
):
    """authorise (consent registry) -> subscribe (zeep, entete header, mTLS) ->
    a night passes -> the file is fetched, decrypted, parsed, published once."""
    emulator.state.subscriptions.clear()
    prm = "24377424002398"  # a homologation C5 point of the access-services model
    client = SgeSoapClient(soap_config(emulator))
    registry = PostgresAuthorisations(pg_pool)
    reader = MeasuresReader(client, registry)
    try:
        with pytest.raises(AuthorisationMissingError):
            await reader.subscribe(client, prm)
        assert client.requests == 0  # no authorisation: SGE not called
        await _sge_consent(pg_pool, prm)
        service_id = await reader.subscribe(client, prm, "CDC")
        assert service_id
        assert await reader.subscribe(client, prm, "CDC") is None  # SGT570: active
    finally:
        await client.aclose()
    async with mtls(emulator) as night:
        await advance(night)
    settings = drop_settings(
        emulator, tmp_path / "spool", kafka_settings, postgres_settings
    )
    async with bootstrap(settings, stop=asyncio.Event()) as runtime:
        (result,) = await runtime.collector.poll_once()
        assert result.outcome == "done"
    batches = await published(kafka_settings)
    assert [(str(b.meter), len(b.readings)) for b in batches] == [(prm, 48)]


async def test_portfolio_enrolment_backfills_authorised_points(
    emulator, tmp_path, kafka_settings, postgres_settings, pg_pool
):
    """bootstrap() wires the SOAP client from the settings (kit, certificate, CA,
    host): the portfolio subscribes and backfills the authorised point only."""
    emulator.state.subscriptions.clear()
    school, hall = "24377424002398", "25162373298976"
    offices = "98800003605600"  # a C2-C4 point: 10-minute curve, start-stamped
    await _sge_consent(pg_pool, school)  # the hall has no authorisation
    await _sge_consent(pg_pool, offices)
    settings = Settings(
        kafka=kafka_settings,
        postgres=postgres_settings,
        spool_dir=tmp_path / "spool",
        **soap_kit(emulator),
    )
    async with bootstrap(settings, stop=asyncio.Event()) as runtime:
        assert runtime.portfolio is not None
        result = await runtime.portfolio.enrol(
            [Site("groupe scolaire", (school, hall)), Site("mairie", (offices,))],
            date(2026, 11, 23),
        )
    assert result.outcomes == {
        school: "subscribed",
        hall: "not_authorised",
        offices: "subscribed",
    }
    # technical and contractual data read first (authorisation claimed)
    facts = result.points
    assert set(facts) == {school, offices}
    assert (facts[school].segment, facts[school].subscribed_power) == ("C5", 36.0)
    assert facts[school].offpeak
    assert (facts[offices].segment, facts[offices].tariff_code) == ("C4", "BTSUPCU4")
    batches = await published(kafka_settings)
    assert {str(b.meter) for b in batches} == {school, offices}
    by_meter: dict[str, list[Any]] = {}
    for b in batches:
        by_meter.setdefault(str(b.meter), []).extend(b.readings)
    assert len(by_meter[school]) == 14 * 48
    assert len(by_meter[offices]) == 14 * 144
    assert result.readings == 14 * 48 + 14 * 144
    # C4 start-stamped: the first reading starts at midnight Paris, 14 days back
    first = min(r.start for r in by_meter[offices])
    assert first.astimezone(PARIS).isoformat() == "2026-11-09T00:00:00+01:00"
    first_c5 = min(r.start for r in by_meter[school])
    assert first_c5.astimezone(PARIS).isoformat() == "2026-11-09T00:00:00+01:00"
