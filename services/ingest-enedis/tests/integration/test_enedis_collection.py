"""Collection against the emulator over HTTP, real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from enedis_emulator import profiles
from energy_core import topics
from energy_core.domain import Kind
from energy_core.domain.time import local_day_of
from ingest_enedis import consent_callback
from ingest_enedis.mapping import Stream

from .conftest import NOW, consume_all, http_get, person

pytestmark = pytest.mark.integration

PRM0, PRM4, PRM8 = "22516914714270", "42900589957123", "26584978546985"


async def _consent(pg_pool, prms: str) -> None:
    # verified as an operator would: these tests are about collection
    await consent_callback.record_callback(
        pg_pool,
        person_id=await person(pg_pool),
        usage_point_id=prms,
        verified_by="test-operator",
        now=NOW,
    )


def _series(batches, prm: str, kind: Kind, curve: bool):
    out = []
    for b in batches:
        if str(b.meter) != prm:
            continue
        for r in b.readings:
            is_curve = (r.end - r.start) <= timedelta(hours=1)
            if r.kind is kind and is_curve == curve:
                out.append(r)
    return out


async def test_consent_redirect_and_callback(emulator, pg_pool):
    base, _ = emulator
    url = consent_callback.authorize_url(
        f"{base}/dataconnect/v1/oauth2/authorize",
        client_id="sen1-demo",
        redirect_uri="http://127.0.0.1:1/cb",
        state="abc7",
    )
    answer = await http_get(url)
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["state"] == ["abc7"]
    usage_points = query["usage_point_id"][0]
    assert usage_points.count(";") == 2  # sandbox client 7 has three PRMs
    recorded = await consent_callback.record_callback(
        pg_pool, person_id=await person(pg_pool), usage_point_id=usage_points, now=NOW
    )
    assert {r.meter_id for r in recorded} == set(usage_points.split(";"))
    assert all(r.created_meter for r in recorded)
    unplaced = await pg_pool.fetchval(
        "SELECT count(*) FROM meters WHERE building_id IS NULL AND meter_id = ANY($1)",
        usage_points.split(";"),
    )
    assert unplaced == 3


async def test_full_history_then_nothing_fetched_twice(
    emulator, collector_factory, kafka_settings, pg_pool
):
    _, state = emulator
    await _consent(pg_pool, PRM0)
    collector = await collector_factory()
    report = await collector.run_cycle()
    assert report.holes == 0
    assert not report.failed
    batches = await consume_all(kafka_settings)
    meter = state.meters[PRM0]
    daily = _series(batches, PRM0, Kind.INTERVAL, curve=False)
    curve = _series(batches, PRM0, Kind.INTERVAL, curve=True)
    end = date(2026, 11, 23)
    days = {local_day_of(r.start) for r in daily}
    assert max(days) == end - timedelta(days=1)
    assert len(days) == len(daily) > 36 * 30
    for day in (date(2026, 3, 29), date(2025, 10, 26), date(2026, 1, 15)):
        points = [r for r in curve if local_day_of(r.start) == day]
        assert len(points) == {date(2026, 3, 29): 46, date(2025, 10, 26): 50}.get(
            day, 48
        )
        total = sum(r.value for r in points)
        (daily_value,) = [r.value for r in daily if local_day_of(r.start) == day]
        assert total == daily_value == profiles.daily_wh(meter, day, False)
    starts = Counter((r.start, r.end) for r in curve)
    assert max(starts.values()) == 1  # no duplicate
    assert len(_series(batches, PRM0, Kind.MAXIMUM, curve=False)) == len(days)
    row = await pg_pool.fetchrow(
        "SELECT subscribed_power_kva, placement FROM enedis_usage_points "
        "WHERE meter_id=$1",
        PRM0,
    )
    assert row["subscribed_power_kva"] > 0
    assert row["placement"] == "unknown_commune"  # empty territory
    calls = state.calls
    again = await collector.run_cycle()
    assert state.calls == calls  # nothing stored is asked again
    assert again.windows == 0


async def test_tuesday_wednesday_holes_are_recorded(
    emulator, collector_factory, kafka_settings, pg_pool
):
    await _consent(pg_pool, PRM4)
    collector = await collector_factory()
    collector.streams = (Stream.DAILY_CONSUMPTION, Stream.LOAD_CURVE)
    await collector.run_cycle()
    holes = await pg_pool.fetch(
        "SELECT stream, day FROM enedis_holes "
        "WHERE meter_id=$1 AND resolved_at IS NULL",
        PRM4,
    )
    by_stream = {
        s: {r["day"] for r in holes if r["stream"] == s} for s in ("dc", "clc")
    }
    assert by_stream["dc"]
    assert by_stream["clc"]
    for days in by_stream.values():
        assert {d.weekday() for d in days} == {1, 2}
    batches = await consume_all(kafka_settings)
    curve_days = {
        local_day_of(r.start) for r in _series(batches, PRM4, Kind.INTERVAL, curve=True)
    }
    assert not {d for d in curve_days if d.weekday() in (1, 2)}
    assert not curve_days & by_stream["clc"]


async def test_revocation_stops_collection_and_emits_event(
    emulator, collector_factory, kafka_settings, pg_pool
):
    await _consent(pg_pool, PRM8)
    collector = await collector_factory()
    report = await collector.run_cycle()
    assert report.stopped == [PRM8]
    revoked = await pg_pool.fetchval(
        "SELECT revoked_at IS NOT NULL FROM consents WHERE meter_id=$1", PRM8
    )
    assert revoked
    events = await consume_all(kafka_settings, topics.CONSENT_EVENTS)
    event = topics.CONSENT_EVENTS.value_type()
    event.ParseFromString(events[0])
    assert event.meter_id == PRM8
    assert event.change == 2
    assert (await collector.run_cycle()).prms == 0


async def test_429_storm_is_ridden_out(
    emulator, collector_factory, kafka_settings, pg_pool
):
    base, state = emulator
    await _consent(pg_pool, PRM0)
    collector = await collector_factory()
    collector.streams = (Stream.DAILY_CONSUMPTION,)
    async with httpx.AsyncClient() as http:
        await http.post(f"{base}/_emulator/faults", json={"status": 429, "count": 12})
    report = await collector.run_cycle()
    assert not report.failed
    assert report.holes == 0
    assert not state.faults
    batches = await consume_all(kafka_settings)
    assert len(_series(batches, PRM0, Kind.INTERVAL, curve=False)) > 36 * 30


async def test_restart_mid_backfill_resumes_without_duplicates_or_holes(
    emulator, collector_factory, kafka_settings, pg_pool
):
    base, state = emulator
    await _consent(pg_pool, PRM0)
    first = await collector_factory(max_attempts=2)
    first.streams = (Stream.LOAD_CURVE,)
    task = asyncio.create_task(first.run_cycle())
    while state.calls < 30:  # noqa: ASYNC110 - polling the emulator's counter
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient() as http:
        await http.post(f"{base}/_emulator/faults", json={"status": 503, "count": 2})
    report = await task
    assert report.failed == [PRM0]  # an Enedis outage cut the backfill
    second = await collector_factory()
    second.streams = (Stream.LOAD_CURVE,)
    assert not (await second.run_cycle()).failed
    curve = _series(await consume_all(kafka_settings), PRM0, Kind.INTERVAL, curve=True)
    counts = Counter(r.start for r in curve)
    assert max(counts.values()) == 1
    days = sorted({local_day_of(r.start) for r in curve})
    assert (days[-1] - days[0]).days + 1 == len(days)  # contiguous: no hole
    assert days[-1] == date(2026, 11, 22)
