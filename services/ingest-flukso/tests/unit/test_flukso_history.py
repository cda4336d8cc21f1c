"""First-contact history: the plan, the day mapping, and the service with fakes
(published once, kept across a restart, dead letters for malformed points)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from energy_core import topics
from energy_core.domain import Direction, Kind, Quality, Stamp
from energy_core.domain.ids import FluksoSensorId
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from ingest_flukso.client import RawMessage
from ingest_flukso.mapping import SensorInfo, day_readings, plan
from ingest_flukso.mapping.history import DAY
from ingest_flukso.service import FluksoService
from ingest_flukso.settings import Settings

DEV = FluksoSensorId("d" * 32)
PV = FluksoSensorId("b" * 32)
MAIN = FluksoSensorId("a" * 32)
PV_INFO = SensorInfo(PV, DEV, PV, "electricity", Direction.PRODUCTION)
MAIN_INFO = SensorInfo(MAIN, DEV, MAIN, "electricity", Direction.CONSUMPTION)
JAN_15 = int(datetime(2026, 1, 15, tzinfo=UTC).timestamp())  # a UTC midnight
JUL_15 = int(datetime(2026, 7, 15, tzinfo=UTC).timestamp())


def test_the_plan_of_a_pv_sensor_stops_days_at_the_utc_midnight_before_live() -> None:
    first = JAN_15 + 10 * 3600 + 125  # 10:02:05Z
    wanted = plan(PV_INFO, first)
    assert wanted is not None
    assert wanted.days_until == JAN_15
    assert wanted.gap is not None
    # minutes from that midnight to the first live minute boundary (10:03Z)
    assert (wanted.gap.start, wanted.gap.end) == (JAN_15, JAN_15 + 10 * 3600 + 180)


def test_a_first_sample_on_the_utc_midnight_needs_no_minutes() -> None:
    wanted = plan(PV_INFO, JAN_15)
    assert wanted is not None
    assert wanted.gap is None
    assert wanted.days_until == JAN_15


def test_consumption_and_phase_sensors_get_no_day_history() -> None:
    phase = SensorInfo(PV, DEV, DEV, "electricity", Direction.PRODUCTION, phase=1)
    water = SensorInfo(PV, DEV, PV, "water", Direction.CONSUMPTION)
    assert plan(MAIN_INFO, JAN_15 + 99) is None
    assert plan(phase, JAN_15 + 99) is None
    assert plan(water, JAN_15 + 99) is None


def test_a_utc_day_becomes_one_reading_ending_at_the_paris_midnight() -> None:
    points = [(JAN_15, 500.0), (JUL_15, 1000.0)]
    emitted, refused = day_readings(PV_INFO, JUL_15, points)
    assert refused == []
    winter, summer = (e.reading for e in emitted)
    # 14 Jan 00:00Z .. 23:00Z = 01:00 .. 24:00 Paris (CET); 500 W for 24 h
    assert winter.start == datetime(2026, 1, 14, tzinfo=UTC)
    assert winter.end == datetime(2026, 1, 14, 23, tzinfo=UTC)
    assert winter.value == pytest.approx(12_000.0)
    # 14 Jul: CEST, the Paris day ends at 22:00Z
    assert summer.end == datetime(2026, 7, 14, 22, tzinfo=UTC)
    assert summer.value == pytest.approx(24_000.0)
    assert {r.kind for r in (winter, summer)} == {Kind.INTERVAL}
    assert {r.direction for r in (winter, summer)} == {Direction.PRODUCTION}
    assert {r.quality for r in (winter, summer)} == {Quality.RAW}
    assert {e.meter for e in emitted} == {PV}


def test_nan_and_days_after_the_cut_are_skipped_malformed_points_refused() -> None:
    points = [
        (JAN_15 - DAY, None),  # "nan": a hole, not an error
        (JAN_15, 400.0),
        (JAN_15 + 3600, 400.0),  # not a UTC midnight
        (JAN_15 + DAY, -5.0),  # a negative average
        (JAN_15 + 2 * DAY, 90_000.0),  # beyond the RRD's range
        (JAN_15 + 3 * DAY, 400.0),  # after the cut: the minutes' part
    ]
    emitted, refused = day_readings(PV_INFO, JAN_15 + 2 * DAY, points)
    assert [e.reading.start for e in emitted] == [datetime(2026, 1, 14, tzinfo=UTC)]
    assert [p for p, _ in refused] == [
        (JAN_15 + 3600, 400.0),
        (JAN_15 + DAY, -5.0),
        (JAN_15 + 2 * DAY, 90_000.0),
    ]
    assert all(reason for _, reason in refused)


# a fixed 10:02:05Z: near a UTC midnight the first live minute is the next day's
# (no minute hole left to backfill), which is not what these tests are about
NOW = JAN_15 + 10 * 3600 + 125
TODAY = NOW // DAY * DAY
CONFIG = json.dumps(
    {
        "main": {"phase": 1},
        "1": {"id": MAIN, "enable": 1, "type": "electricity"},
        "2": {"id": PV, "enable": 1, "type": "electricity", "function": "solar"},
    }
).encode()


class _Api:
    """flukso.net stand-in: 365 days of 300 W (the last one "nan"), a bad point."""

    def __init__(self) -> None:
        self.days_asked: list[str] = []
        self.minutes_asked: list[tuple[str, int, int]] = []

    async def days(self, sensor: str) -> list[tuple[int, float | None]]:
        self.days_asked.append(sensor)
        ends = range(TODAY + DAY - 364 * DAY, TODAY + DAY + 1, DAY)  # 365
        points: list[tuple[int, float | None]] = [(t, 300.0) for t in ends]
        points[-1] = (points[-1][0], None)
        return [*points[:3], (points[3][0] + 7, 300.0), *points[3:]]

    async def minutes(
        self, sensor: str, start: datetime, end: datetime
    ) -> list[tuple[int, float | None]]:
        lo, hi = int(start.timestamp()), int(end.timestamp())
        self.minutes_asked.append((sensor, lo, hi))
        return [(t, 600.0) for t in range(lo + 60, hi + 1, 60)]


def _messages() -> list[RawMessage]:
    return [
        RawMessage(f"/device/{DEV}/config/sensor", CONFIG, NOW),
        RawMessage(f"/sensor/{PV}/gauge", f'[{NOW},0,"W"]'.encode(), NOW),
        RawMessage(f"/sensor/{MAIN}/gauge", f'[{NOW},250,"W"]'.encode(), NOW),
        RawMessage(f"/sensor/{PV}/gauge", f'[{NOW + 1},0,"W"]'.encode(), NOW + 1),
    ]


async def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _meet(state: Path, api: _Api, publisher: InMemoryPublisher) -> FluksoService:
    settings = Settings(
        batch_seconds=0.05, backfill_delay_seconds=0, history_state_file=str(state)
    )
    # the clock past the first live minute: today's hole is due at once
    service = FluksoService(settings, publisher, api, clock=lambda: NOW + 120)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    for message in _messages():
        service.handle(message)
    await _until(lambda: PV in service.history and len(api.minutes_asked) >= 1)
    await asyncio.sleep(0.2)  # anything more would be published by now
    stop.set()
    await task
    return service


def _history(publisher: InMemoryPublisher) -> list[tuple[str, datetime, float]]:
    out = []
    for _, value in publisher.sent[topics.READINGS]:
        batch = batch_from_proto(value)
        for r in batch.readings:
            if r.kind is Kind.INTERVAL and r.end - r.start > timedelta(hours=20):
                assert batch.stamped is Stamp.END
                out.append((batch.meter, r.start, r.value))
    return out


async def test_first_contact_publishes_the_year_once_and_a_restart_none(
    tmp_path: Path,
) -> None:
    state = tmp_path / "history.json"
    api, publisher = _Api(), InMemoryPublisher()
    await _meet(state, api, publisher)
    assert api.days_asked == [PV]  # the consumption sensor: no day history
    days = _history(publisher)
    # 365 buckets, the last one (today) "nan": 364 days of 300 W x 24 h, and
    # the malformed extra point dead-lettered
    assert len(days) == 364
    assert {meter for meter, _, _ in days} == {PV}
    assert {value for _, _, value in days} == {7200.0}
    assert len({start for _, start, _ in days}) == 364
    assert max(start for _, start, _ in days) == datetime.fromtimestamp(
        TODAY - DAY, UTC
    )
    # today's minutes go to the minute backfill, up to the first live minute
    assert api.minutes_asked == [(PV, TODAY, -(-NOW // 60) * 60)]
    letters = publisher.sent[topics.DEAD_LETTERS]
    assert len(letters) == 1
    assert json.loads(state.read_text())["sensors"] == {PV: TODAY}

    again, republished = _Api(), InMemoryPublisher()
    await asyncio.wait_for(_restart(state, again, republished), 10)
    assert again.days_asked == []
    assert again.minutes_asked == []
    assert _history(republished) == []


async def _restart(state: Path, api: _Api, publisher: InMemoryPublisher) -> None:
    settings = Settings(
        batch_seconds=0.05, backfill_delay_seconds=0, history_state_file=str(state)
    )
    service = FluksoService(settings, publisher, api)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    for message in _messages():
        service.handle(message)
    await asyncio.sleep(0.5)
    stop.set()
    await task
    assert PV in service.history


def test_each_shard_keeps_its_own_state_file(tmp_path: Path) -> None:
    base = str(tmp_path / "history.json")
    shard = Settings(history_state_file=base, shards=2, shard=1)
    service = FluksoService(shard, InMemoryPublisher(), _Api())  # type: ignore[arg-type]
    service.history.mark([(PV, TODAY)])
    assert json.loads(Path(base + ".1-of-2").read_text())["sensors"] == {PV: TODAY}
    assert not Path(base).exists()
