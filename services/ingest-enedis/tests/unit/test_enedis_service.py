"""The collection loop with fakes: the real client over a mock transport (a tiny
Data Connect), the in-memory repository, the in-memory publisher.

Integration tests run the same loop against the emulator, Kafka and PostgreSQL;
these pin the decisions of the loop (what moves, what is kept, what is counted)
in milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from energy_core import topics
from energy_core.domain.time import days_between, local_day_of
from energy_core.testing import InMemoryPublisher
from energy_core.wire import CONSENT_REVOKED, batch_from_proto
from ingest_enedis import service
from ingest_enedis.client import DataConnectClient
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.mapping import Parcel, Stream
from ingest_enedis.repository.memory import MemoryRepository
from ingest_enedis.service import BrokerUnavailableError, Collector, run_forever
from ingest_enedis.settings import Settings

PRM = "30001610071843"
OTHER = "30001610071844"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 Paris: J-1 is published
J = date(2026, 11, 23)
SQUARE = [[5.0, 45.0], [5.1, 45.0], [5.1, 45.1], [5.0, 45.1], [5.0, 45.0]]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@dataclass
class FakeDataConnect:
    """Token, daily consumption, contracts and addresses, with scripted failures."""

    missing: set[date] = field(default_factory=set)
    """Days answered without a value (a late meter)."""
    bad: set[date] = field(default_factory=set)
    """Days answered with a value that is not a number."""
    activation: date | None = None
    """Windows starting before this are refused (ADAM-ERR0123)."""
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Answers given first, in order, to metering calls (status, body)."""
    revoked: set[str] = field(default_factory=set)
    asked: list[tuple[str, date, date]] = field(default_factory=list)
    paths: list[tuple[str, str]] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth2/v3/token":
            return httpx.Response(
                200, json={"access_token": "t", "expires_in": "12600"}
            )
        prm = request.url.params["usage_point_id"]
        if prm in self.revoked:
            return httpx.Response(403, json={"error": "ADAM-DC-0008"})
        if path.startswith("/customers_upc"):
            return httpx.Response(
                200,
                json={
                    "customer": {
                        "usage_points": [{"contracts": {"subscribed_power": "6 kVA"}}]
                    }
                },
            )
        if path.startswith("/customers_upa"):
            return httpx.Response(
                200,
                json={
                    "customer": {
                        "usage_points": [
                            {
                                "usage_point": {
                                    "usage_point_addresses": {
                                        "insee_code": "38151",
                                        "geo_points": {
                                            "latitude": "45.05",
                                            "longitude": "5.05",
                                        },
                                    }
                                }
                            }
                        ]
                    }
                },
            )
        start = date.fromisoformat(request.url.params["start"])
        end = date.fromisoformat(request.url.params["end"])
        self.asked.append((prm, start, end))
        self.paths.append((prm, path))
        if self.script:
            status, body = self.script.pop(0)
            return httpx.Response(status, json=body)
        if self.activation and start < self.activation:
            return httpx.Response(400, json={"error": "ADAM-ERR0123"})
        points = [
            {"value": self._value(day), "date": str(day)}
            for day in days_between(start, end)
        ]
        return httpx.Response(200, json={"meter_reading": {"interval_reading": points}})

    def _value(self, day: date) -> str:
        if day in self.bad:
            return "12,5 kWh"
        return "null" if day in self.missing else "1000"


@dataclass
class Loop:
    collector: Collector
    repository: MemoryRepository
    publisher: InMemoryPublisher
    upstream: FakeDataConnect
    clock: Callable[[], datetime]

    def readings(self) -> list[Any]:
        return [
            batch_from_proto(value)  # type: ignore[arg-type]
            for _, value in self.publisher.sent[topics.READINGS]
        ]

    def days(self, prm: str = PRM) -> list[date]:
        return sorted(
            local_day_of(r.start)
            for b in self.readings()
            if str(b.meter) == prm
            for r in b.readings
        )


@pytest.fixture
async def loop() -> AsyncIterator[Loop]:
    now = [NOW]
    upstream = FakeDataConnect()
    settings = Settings(
        base_url="http://gw",
        token_url="http://gw/oauth2/v3/token",
        client_secret="s",
        daily_history_months=1,
        daily_window_days=10,
        workers=2,
        max_attempts=3,
        backoff_base_s=0.001,
        backoff_max_s=0.002,
    )
    client = DataConnectClient(
        settings,
        SlidingWindowLimiter.per_second_and_hour(10**6, 10**9),
        transport=httpx.MockTransport(upstream.handler),
    )
    repository = MemoryRepository(now=lambda: now[0])
    repository.add_consent(PRM, NOW - timedelta(days=1), NOW + timedelta(days=365))
    publisher = InMemoryPublisher()
    collector = Collector(
        settings,
        client,
        publisher,
        repository,
        clock=lambda: now[0],
        streams=(Stream.DAILY_CONSUMPTION,),
    )
    yield Loop(collector, repository, publisher, upstream, lambda: now[0])
    await client.aclose()


async def test_a_backfill_publishes_every_day_once_then_moves_the_cursor(loop):
    readings_before = metric("ingest_enedis_readings_published_total")
    ok_before = metric("ingest_enedis_requests_total", resource="dc", outcome="ok")
    report = await loop.collector.run_cycle()
    floor = date(2026, 10, 23)  # one month before J, the calendar's rule
    assert loop.days() == days_between(floor, J)
    assert report.readings == len(days_between(floor, J)) == 31
    assert report.windows == 4  # 31 days in windows of 10
    state = await loop.repository.cursor(PRM, Stream.DAILY_CONSUMPTION)
    assert state is not None
    assert (state.history_from, state.fetched_until) == (floor, J)
    assert loop.publisher.flushes >= 4  # acknowledged before each cursor move
    assert metric("ingest_enedis_readings_published_total") - readings_before == 31
    assert (
        metric("ingest_enedis_requests_total", resource="dc", outcome="ok") - ok_before
        == 4
    )
    assert metric("ingest_enedis_prms_pending") == 0
    assert metric("ingest_enedis_windows_pending") == 0
    assert metric("ingest_enedis_cursor_lag_days") == 0
    again = await loop.collector.run_cycle()
    assert (again.windows, again.readings) == (0, 0)  # nothing new before 08:00


async def test_a_placed_prm_gets_its_building_from_the_address(loop):
    loop.repository.add_parcel("38151", Parcel(SQUARE, ["b-1"]))
    await loop.collector.run_cycle()
    assert loop.repository.buildings[PRM] == "b-1"
    assert loop.repository.usage_points[PRM].placement == "placed"


async def test_missing_days_are_holes_asked_again_until_they_come(loop):
    late = date(2026, 11, 20)
    loop.upstream.missing = {late}
    report = await loop.collector.run_cycle()
    assert report.holes == 1
    assert loop.repository.open_holes(PRM, Stream.DAILY_CONSUMPTION) == [late]
    assert late not in loop.days()
    loop.upstream.missing = set()
    later = NOW + timedelta(days=1)  # past the next 08:00 publication
    loop.collector.clock = lambda: later
    loop.repository.now = lambda: later
    await loop.collector.run_cycle()
    assert loop.repository.open_holes(PRM, Stream.DAILY_CONSUMPTION) == []
    assert loop.days().count(late) == 1


async def test_a_429_pauses_everybody_and_is_counted_then_the_window_comes(loop):
    throttled = metric("ingest_enedis_rate_limited_total")
    loop.upstream.script = [(429, {"error": "429"})]
    report = await loop.collector.run_cycle()
    assert report.readings == 31
    assert not report.failed
    assert loop.collector.client.limiter.refusals == 1
    assert metric("ingest_enedis_rate_limited_total") - throttled == 1


async def test_an_unavailable_gateway_moves_nothing(loop):
    failing = [(503, {"error": "503"})] * 3  # max_attempts
    loop.upstream.script = list(failing)
    report = await loop.collector.run_cycle()
    assert report.failed == [PRM]
    state = await loop.repository.cursor(PRM, Stream.DAILY_CONSUMPTION)
    assert state is not None
    assert state.fetched_until == state.history_from
    assert loop.publisher.sent[topics.READINGS] == []


async def test_consent_revoked_upstream_stops_revokes_and_tells_the_platform(loop):
    loop.upstream.revoked = {PRM}
    report = await loop.collector.run_cycle()
    assert report.stopped == [PRM]
    ((key, event),) = loop.publisher.sent[topics.CONSENT_EVENTS]
    assert key == PRM
    assert event.change == CONSENT_REVOKED  # type: ignore[union-attr]
    assert event.consent_id == "consent-1"  # type: ignore[union-attr]
    assert await loop.repository.consented_prms(NOW) == []
    assert (await loop.collector.run_cycle()).prms == 0


class DownBroker(InMemoryPublisher):
    """Takes records, acknowledges none while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def flush(self) -> None:
        await super().flush()
        if self.down:
            from aiokafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError


async def test_a_broker_outage_stops_the_cycle_and_keeps_the_records(loop):
    broker = DownBroker()
    loop.collector.publisher = broker
    with pytest.raises(BrokerUnavailableError):
        await loop.collector.run_cycle()
    state = await loop.repository.cursor(PRM, Stream.DAILY_CONSUMPTION)
    assert state is not None
    assert state.fetched_until == state.history_from
    first = list(broker.sent[topics.READINGS])
    assert len(first) == 1  # the cycle stopped at the first unacknowledged window
    broker.down = False
    await loop.collector.run_cycle()
    # the kept record went out again ahead of the re-asked window: at least once
    keys_and_starts = [
        (k, batch_from_proto(v).readings[0].start)  # type: ignore[arg-type]
        for k, v in broker.sent[topics.READINGS]
    ]
    assert keys_and_starts.count(keys_and_starts[0]) == 3
    state = await loop.repository.cursor(PRM, Stream.DAILY_CONSUMPTION)
    assert state is not None
    assert state.fetched_until == J


async def test_an_activation_date_found_by_search_is_the_history_start(loop):
    loop.upstream.activation = date(2026, 11, 5)
    report = await loop.collector.run_cycle()
    assert loop.days() == days_between(date(2026, 11, 5), J)
    assert report.holes == 0  # days before activation do not exist for us
    assert await loop.repository.activation_date(PRM) == date(2026, 11, 5)
    state = await loop.repository.cursor(PRM, Stream.DAILY_CONSUMPTION)
    assert state is not None
    assert state.history_from == date(2026, 11, 5)


async def test_a_long_cycle_logs_its_progress(loop, monkeypatch, caplog):
    monkeypatch.setattr(service, "PROGRESS_EVERY_S", 0.0)
    loop.repository.add_consent(OTHER, NOW - timedelta(days=1), NOW + timedelta(1))
    with caplog.at_level(logging.INFO, logger="ingest_enedis.service"):
        await loop.collector.run_cycle()
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("cycle: 2 consented PRMs") for line in lines)
    progress = [line for line in lines if line.startswith("cycle progress:")]
    assert progress
    assert progress[-1].startswith("cycle progress: 2/2 PRMs")
    assert all(PRM not in line and OTHER not in line for line in lines)  # pseudonyms


async def test_a_cycle_asks_every_prm_daily_energy_before_max_power_and_curves(
    loop, caplog
):
    """A backfill shows a year of kWh for the whole portfolio first; the daily
    max power (as many readings, shown only in a resident's detail) and the
    curves come after every PRM's daily energy, each PRM's in its own order."""
    prms = [PRM, OTHER, "30001610071845", "30001610071846"]
    for prm in prms[1:]:
        loop.repository.add_consent(prm, NOW - timedelta(days=1), NOW + timedelta(1))
    loop.collector.streams = (
        Stream.DAILY_CONSUMPTION, Stream.LOAD_CURVE, Stream.MAX_POWER,
        Stream.DAILY_PRODUCTION,
    )  # fmt: skip
    with caplog.at_level(logging.INFO, logger="ingest_enedis.service"):
        report = await loop.collector.run_cycle()
    assert report.done == len(prms)
    paths = loop.upstream.paths
    second = [i for i, (_, path) in enumerate(paths) if "/metering_data_clc/" in path
              or "/metering_data_dcmp/" in path]  # fmt: skip
    first = {(prm, path): i for i, (prm, path) in reversed(list(enumerate(paths)))
             if "/metering_data_dc/" in path or "/metering_data_dp/" in path}  # fmt: skip
    assert {prm for prm, _ in first} == set(prms)
    assert {p.split("/")[1] for _, p in first} == {
        "metering_data_dc",
        "metering_data_dp",
    }
    assert {paths[i][1].split("/")[1] for i in second} == {
        "metering_data_clc", "metering_data_dcmp",
    }  # fmt: skip
    assert max(first.values()) < min(second)  # every PRM's daily energy came first
    assert any("curves next" in r.getMessage() for r in caplog.records)
    published = {str(b.meter) for b in loop.readings()}
    assert published == set(prms)


async def test_a_bad_point_is_a_dead_letter_and_a_hole_the_rest_is_published(loop):
    """One unparsable value never sinks its window: the other days travel, the
    bad one is told to the dead-letter topic with its reason and asked again."""
    bad_day = J - timedelta(days=5)
    loop.upstream.bad.add(bad_day)
    report = await loop.collector.run_cycle()
    days = loop.days()
    assert bad_day not in days
    assert len(days) == len(set(days)) > 20  # the month, once
    assert set(days) == set(days_between(days[0], J)) - {bad_day}
    letters = loop.publisher.sent[topics.DEAD_LETTERS]
    assert len(letters) == 1
    letter = letters[0][1]
    assert "1 bad point(s) left out" in letter.reason  # type: ignore[attr-defined]
    assert str(bad_day) in letter.reason  # type: ignore[attr-defined]
    assert letter.error_type == "PayloadInvalidError"  # type: ignore[attr-defined]
    assert report.holes == 1
    holes = await loop.repository.due_holes(
        PRM, Stream.DAILY_CONSUMPTION, loop.clock() + timedelta(days=1)
    )
    assert holes == [bad_day]


async def test_run_forever_survives_a_failed_cycle_and_stops_on_request(loop):
    import asyncio

    broker = DownBroker()
    loop.collector.publisher = broker
    stop = asyncio.Event()
    failed = metric("ingest_enedis_cycles_total", result="failed")
    cycle = loop.collector.run_cycle

    async def once() -> Any:
        try:
            return await cycle()
        finally:
            stop.set()

    loop.collector.run_cycle = once  # type: ignore[method-assign]
    await asyncio.wait_for(run_forever(loop.collector, stop, 3600.0), timeout=5)
    assert metric("ingest_enedis_cycles_total", result="failed") - failed == 1


async def test_token_readiness_answers_even_while_the_quota_is_paused():
    async def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    settings = Settings(
        base_url="http://gw", token_url="http://gw/oauth2/v3/token", client_secret="s"
    )
    limiter = SlidingWindowLimiter.per_second_and_hour(10**6, 10**9)
    client = DataConnectClient(settings, limiter, transport=httpx.MockTransport(refuse))
    try:
        assert await client.token_ready() is False  # the secret is refused
        limiter.pause(3600)  # a 429 said: come back in an hour
        began = time.monotonic()
        assert await client.token_ready(within_s=0.2) is False
        assert time.monotonic() - began < 2
    finally:
        await client.aclose()
