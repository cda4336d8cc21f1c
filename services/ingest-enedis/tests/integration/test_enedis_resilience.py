"""What goes wrong in real life: refusals, outages on our side, wrong dates, consent.

Against the emulator over real HTTP, the real tansu broker and embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from aiokafka.errors import KafkaTimeoutError

from enedis_emulator import profiles
from energy_core import topics
from energy_core.domain import Kind
from energy_core.domain.time import local_day_of
from energy_core.observability import meter_ref
from energy_store.consent_registry import parse_usage_points, record_prm_consents
from ingest_enedis import consent_callback
from ingest_enedis.mapping import Stream
from ingest_enedis.service import run_forever

from .conftest import NOW, MovingClock, consume_all, http_get, person

pytestmark = pytest.mark.integration

PRM0, PRM4 = "22516914714270", "42900589957123"
J = date(2026, 11, 23)  # NOW is 10:00 Paris on J: J-1 is published


async def _consent(pg_pool, prms: str, now=NOW) -> None:
    # verified as an operator would: these tests are about collection
    await consent_callback.record_callback(
        pg_pool,
        person_id=await person(pg_pool),
        usage_point_id=prms,
        verified_by="test-operator",
        now=now,
    )


def _days(batches, prm: str, *, curve: bool, kind: Kind = Kind.INTERVAL) -> list:
    """Local days of the readings of one PRM (one entry per reading)."""
    out = []
    for b in batches:
        if str(b.meter) != prm:
            continue
        for r in b.readings:
            if r.kind is kind and ((r.end - r.start) <= timedelta(hours=1)) == curve:
                out.append(local_day_of(r.start))
    return out


def _span(first: date, end: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((end - first).days)}


async def _open_holes(pg_pool, prm: str) -> list:
    return await pg_pool.fetch(
        "SELECT stream, day, reason FROM enedis_holes "
        "WHERE meter_id = $1 AND resolved_at IS NULL ORDER BY stream, day",
        prm,
    )


async def _cursor(pg_pool, prm: str, stream: str):
    return await pg_pool.fetchrow(
        "SELECT history_from, fetched_until, stopped_reason FROM enedis_cursors "
        "WHERE meter_id = $1 AND stream = $2",
        prm,
        stream,
    )


async def _faults(base: str, **fault: object) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{base}/_emulator/faults", json=fault)
        answer.raise_for_status()


async def test_undocumented_refusal_is_a_hole_and_a_dead_letter_not_a_crash(
    emulator, collector_factory, kafka_settings, pg_pool
):
    base, _ = emulator
    await _consent(pg_pool, PRM0)
    clock = MovingClock()
    collector = await collector_factory(clock=clock)
    collector.streams = (Stream.DAILY_CONSUMPTION,)
    # the next two calls (the contract, then the first daily window) get a 400
    # with a code the client does not know
    await _faults(base, status=400, count=2, error="invalid_request")
    report = await collector.run_cycle()
    assert not report.failed
    holes = await _open_holes(pg_pool, PRM0)
    assert len(holes) == 365  # the refused window, kept to be asked again
    assert all(h["reason"].startswith("refused") for h in holes)
    letters = await consume_all(kafka_settings, topics.DEAD_LETTERS)
    assert len(letters) == 1
    clock.now = NOW + timedelta(hours=7)  # the holes are due
    assert (await collector.run_cycle()).holes == 0
    assert await _open_holes(pg_pool, PRM0) == []
    daily = _days(await consume_all(kafka_settings), PRM0, curve=False)
    first = (await _cursor(pg_pool, PRM0, "dc"))["history_from"]
    assert sorted(daily) == sorted(_span(first, J))  # complete, each day once


class _BrokerGoesDown:
    """The real Kafka publisher until ``ok`` records went through, then timeouts."""

    def __init__(self, inner, ok: int) -> None:
        self.inner = inner
        self.ok = ok

    async def publish(self, spec, key, value) -> None:
        if self.ok <= 0:
            raise KafkaTimeoutError
        self.ok -= 1
        await self.inner.publish(spec, key, value)

    async def flush(self) -> None:
        await self.inner.flush()


async def test_broker_outage_stops_the_cycle_and_moves_no_cursor(
    emulator, collector_factory, kafka_settings, pg_pool
):
    await _consent(pg_pool, PRM0)
    collector = await collector_factory()
    collector.publisher = _BrokerGoesDown(collector.publisher, ok=5)
    collector.streams = (Stream.LOAD_CURVE,)
    stop = asyncio.Event()
    cycle = collector.run_cycle

    async def once():
        try:
            return await cycle()
        finally:
            stop.set()

    collector.run_cycle = once  # type: ignore[method-assign]
    await run_forever(collector, stop, 0.01)  # logs the outage, does not crash
    state = await _cursor(pg_pool, PRM0, "clc")
    assert state["fetched_until"] == state["history_from"] + timedelta(days=5 * 7)
    resumed = await collector_factory()
    resumed.streams = (Stream.LOAD_CURVE,)
    report = await resumed.run_cycle()
    assert not report.failed
    assert report.holes == 0
    batches = await consume_all(kafka_settings)
    starts = Counter(r.start for b in batches for r in b.readings)
    assert max(starts.values()) == 1  # the refused window was never published
    curve = Counter(local_day_of(t) for t in starts)
    assert set(curve) == _span(state["history_from"], J)
    assert (curve[date(2025, 3, 30)], curve[date(2025, 10, 26)]) == (46, 50)


async def test_restart_while_a_window_is_in_flight_asks_it_again_only(
    emulator, collector_factory, kafka_settings, pg_pool
):
    _, state = emulator
    await _consent(pg_pool, PRM0)
    first = await collector_factory(workers=1)
    first.streams = (Stream.LOAD_CURVE,)
    task = asyncio.create_task(first.run_cycle())
    while state.calls < 30:  # noqa: ASYNC110 - polling the emulator's counter
        await asyncio.sleep(0.005)
    task.cancel()  # the process is killed: whatever was in flight is lost
    with contextlib.suppress(asyncio.CancelledError):
        await task
    second = await collector_factory(workers=1)
    second.streams = (Stream.LOAD_CURVE,)
    assert not (await second.run_cycle()).failed
    batches = await consume_all(kafka_settings)
    counts = Counter(
        r.start for b in batches for r in b.readings if str(b.meter) == PRM0
    )
    history = await _cursor(pg_pool, PRM0, "clc")
    days = {local_day_of(t) for t in counts}
    assert days == _span(history["history_from"], J)  # no hole
    twice = [t for t, n in counts.items() if n > 1]
    assert len(twice) <= 7 * 50  # at most the one window that was in flight
    windows = -(-(J - history["history_from"]).days // 7)
    assert state.calls - 2 in (windows, windows + 1)  # 2 customers calls


async def test_wrong_activation_date_in_the_contract_is_searched_not_skipped(
    emulator, collector_factory, kafka_settings, pg_pool
):
    _, state = emulator
    prm = "30000000000017"
    activated = date(2025, 3, 10)
    state.meters[prm] = profiles.Meter(
        prm, activation=activated, reported_activation=profiles.LINKY_ROLLOUT
    )
    await _consent(pg_pool, prm)
    collector = await collector_factory()
    collector.streams = (Stream.DAILY_CONSUMPTION, Stream.LOAD_CURVE)
    report = await collector.run_cycle()
    assert not report.failed
    batches = await consume_all(kafka_settings)
    daily = _days(batches, prm, curve=False)
    assert sorted(daily) == sorted(_span(activated, J))
    assert set(_days(batches, prm, curve=True)) == _span(activated, J)
    assert await _open_holes(pg_pool, prm) == []
    assert (await _cursor(pg_pool, prm, "dc"))["history_from"] == activated
    learnt = await pg_pool.fetchval(
        "SELECT last_activation_date FROM enedis_usage_points WHERE meter_id = $1",
        prm,
    )
    assert learnt == activated


async def test_consent_start_floor_moves_the_start_and_records_no_hole(
    emulator, collector_factory, kafka_settings, pg_pool
):
    _, state = emulator
    prm = "30000000000025"
    consented = date(2026, 6, 10)
    state.meters[prm] = profiles.Meter(prm, consent_start=consented)
    await _consent(pg_pool, prm)
    collector = await collector_factory()
    collector.streams = (Stream.DAILY_CONSUMPTION, Stream.LOAD_CURVE)
    calls = state.calls
    report = await collector.run_cycle()
    assert not report.failed
    batches = await consume_all(kafka_settings)
    assert sorted(_days(batches, prm, curve=False)) == sorted(_span(consented, J))
    assert set(_days(batches, prm, curve=True)) == _span(consented, J)
    assert await _open_holes(pg_pool, prm) == []
    for stream in ("dc", "clc"):
        assert (await _cursor(pg_pool, prm, stream))["history_from"] == consented
    # the search costs a few requests once, not one per refused curve window:
    # customers 2; daily 3 refused windows + 2 last-day probes + <= 9 bisection
    # probes + 1; curve 1 refused window (then the start found by daily) + windows
    curve_windows = -(-(J - consented).days // 7)
    assert state.calls - calls <= 2 + (3 + 2 + 9 + 1) + (1 + curve_windows)


async def test_new_consent_after_an_upstream_revocation_resumes_collection(
    emulator, collector_factory, kafka_settings, pg_pool
):
    base, state = emulator
    clock = MovingClock()
    state.clock = clock
    await _consent(pg_pool, PRM0)
    collector = await collector_factory(clock=clock)
    collector.streams = (Stream.DAILY_CONSUMPTION,)
    await collector.run_cycle()
    async with httpx.AsyncClient() as http:
        await http.post(f"{base}/_emulator/revoke", params={"prm": PRM0})
    clock.now = NOW + timedelta(days=2)
    assert (await collector.run_cycle()).stopped == [PRM0]
    # the resident consents again on the Enedis page (sandbox client 0)
    url = consent_callback.authorize_url(
        f"{base}/dataconnect/v1/oauth2/authorize",
        client_id="sen1-demo",
        redirect_uri="http://127.0.0.1:1/cb",
        state="again0",
    )
    callback = parse_qs(urlparse((await http_get(url)).headers["location"]).query)
    # recorded as the api does it: energy_store only, nothing of this service
    async with pg_pool.acquire() as conn:
        await record_prm_consents(
            conn,
            person_id=await person(pg_pool),
            prms=parse_usage_points(callback["usage_point_id"][0]),
            now=clock.now,
            verified_by="test-operator",
        )
    report = await collector.run_cycle()
    assert report.stopped == []
    assert report.prms == 1
    daily = _days(await consume_all(kafka_settings), PRM0, curve=False)
    assert max(daily) == J + timedelta(days=1)  # the days missed meanwhile
    assert (await _cursor(pg_pool, PRM0, "dc"))["stopped_reason"] is None


@pytest.mark.parametrize("body", ["legacy", "wso2"])
async def test_exhausted_hourly_quota_is_waited_out_not_hammered(
    emulator_factory, collector_factory, kafka_settings, pg_pool, body
):
    # the gateway allows 60 calls an hour, time-scaled x1000 (3.6 s); the collector
    # believes in ten times more (another process shares the application's quota)
    base, state = await emulator_factory(
        requests_per_second=5,
        requests_per_hour=60,
        quota_time_scale=1000,
        quota_body=body,
    )
    await _consent(pg_pool, PRM0)
    collector = await collector_factory(
        base=base,
        requests_per_second=50,
        requests_per_hour=600,
        quota_time_scale=1000,
        workers=2,
    )
    collector.streams = (Stream.DAILY_CONSUMPTION, Stream.LOAD_CURVE)
    began = time.monotonic()
    report = await collector.run_cycle()
    elapsed = time.monotonic() - began
    assert not report.failed
    assert report.holes == 0
    assert state.throttled > 0  # the quota did bite
    # ~111 calls = two scaled hours of 3.6 s: the pauses follow what the gateway
    # said, not a time of day read as a delay (hours, scaled to tens of seconds)
    assert elapsed < 3.6 * 2 + 6
    # each call accepted once the hour was used up costs at most one 429 a worker
    assert state.throttled <= 2 * (state.calls - 60 + 1)
    batches = await consume_all(kafka_settings)
    curve = _days(batches, PRM0, curve=True)
    history = await _cursor(pg_pool, PRM0, "clc")
    assert set(curve) == _span(history["history_from"], J)


async def test_daily_cycle_after_publication_and_late_meter_at_j_plus_2(
    emulator, collector_factory, kafka_settings, pg_pool
):
    _, state = emulator
    late = "30000000000033"
    state.meters[late] = profiles.Meter(late, late=True)
    clock = MovingClock()
    state.clock = clock
    await _consent(pg_pool, f"{PRM0};{late}")
    collector = await collector_factory(clock=clock)
    collector.streams = (Stream.DAILY_CONSUMPTION,)
    await collector.run_cycle()  # J 10:00 Paris: J-1 on time, not for the late one
    assert [h["day"] for h in await _open_holes(pg_pool, late)] == [J - timedelta(1)]

    async def days_of(prm: str) -> set[date]:
        return set(_days(await consume_all(kafka_settings), prm, curve=False))

    clock.now = NOW + timedelta(hours=21)  # J+1 07:00: nothing new is published yet
    calls = state.calls
    await collector.run_cycle()
    assert J not in await days_of(PRM0)
    assert state.calls - calls == 1  # only the due hole of the late meter
    clock.now = NOW + timedelta(hours=22, minutes=30)  # J+1 08:30
    await collector.run_cycle()
    assert J in await days_of(PRM0)
    assert J - timedelta(1) in await days_of(late)  # published at J+1 08:00
    assert [h["day"] for h in await _open_holes(pg_pool, late)] == [J]
    assert await _open_holes(pg_pool, PRM0) == []


async def test_customers_v5_is_asked_again_once_stale(
    emulator, collector_factory, pg_pool
):
    _, state = emulator
    await _consent(pg_pool, PRM0)
    collector = await collector_factory()
    collector.streams = (Stream.DAILY_CONSUMPTION,)
    await collector.run_cycle()
    state.meters[PRM0] = dataclasses.replace(
        state.meters[PRM0], reported_activation=date(2016, 1, 4)
    )
    calls = state.calls
    await collector.run_cycle()
    assert state.calls == calls  # fresh: not asked again
    await pg_pool.execute(
        "UPDATE enedis_usage_points SET updated_at = now() - interval '31 days'"
    )
    await collector.run_cycle()
    assert state.calls == calls + 2  # contract + address
    learnt = await pg_pool.fetchval(
        "SELECT last_activation_date FROM enedis_usage_points WHERE meter_id = $1",
        PRM0,
    )
    assert learnt == date(2016, 1, 4)


async def test_logs_carry_no_prm_in_clear(emulator, collector_factory, pg_pool, caplog):
    base, _ = emulator
    prm8 = "26584978546985"  # sandbox client 8: consent revoked at once
    await _consent(pg_pool, f"{PRM0};{PRM4};{prm8}")
    collector = await collector_factory(max_attempts=2)
    collector.streams = (Stream.DAILY_CONSUMPTION, Stream.LOAD_CURVE)
    await _faults(base, status=400, count=1, error="invalid_request")
    caplog.set_level(logging.DEBUG)
    assert (await collector.run_cycle()).stopped == [prm8]
    await _faults(base, status=503, count=4)  # and an outage, logged too
    collector.clock = lambda: NOW + timedelta(days=1)
    await collector.run_cycle()
    ours = [
        r.getMessage()
        for r in caplog.records
        # libraries that log URLs or record keys at DEBUG/INFO; configure_logging
        # (energy_core.observability) keeps them at WARNING in every service
        if not r.name.startswith(("httpx", "httpcore", "aiokafka"))
    ]
    assert any(meter_ref(prm8) in m for m in ours)  # the stop is logged...
    for prm in (PRM0, PRM4, prm8):
        assert not [m for m in ours if prm in m]  # ...pseudonymously
