"""Mapping rules: payload shapes, discovery, counters, resets, duplicates, phases."""

from __future__ import annotations

import json

import pytest

from energy_core.domain import Direction, Kind, Quality, Unit
from energy_core.domain.ids import FluksoSensorId
from energy_core.errors import PayloadInvalidError
from ingest_flukso.mapping import (
    Emitted,
    Gap,
    Sample,
    TopicKind,
    Tracker,
    parse_config,
    parse_sample,
    parse_topic,
)

DEV = FluksoSensorId("d" * 32)
MAIN = FluksoSensorId("a" * 32)
PV = FluksoSensorId("b" * 32)
L1, L2, L3 = (FluksoSensorId(c * 32) for c in "123")
T0 = 1_800_000_000 // 60 * 60  # a minute boundary in 2027


def _config(**sections: object) -> bytes:
    return json.dumps({"main": {"phase": 1}, "daemon": {}, **sections}).encode()


def _single() -> Tracker:
    tracker = Tracker(gap_seconds=10)
    payload = _config(
        **{
            "1": {"id": MAIN, "enable": 1, "type": "electricity", "function": "main"},
            "2": {"id": PV, "enable": 1, "type": "electricity", "function": "solar"},
            "3": {"id": "c" * 32},
        }
    )
    tracker.configure(parse_config(DEV, payload))
    return tracker


def _counter(
    tracker: Tracker, sensor: FluksoSensorId, ts: int, wh: float
) -> tuple[list[Emitted], list[Gap]]:
    return tracker.feed(TopicKind.COUNTER, sensor, Sample(ts, wh, "Wh"), ts)


def test_topics_and_payload_shapes() -> None:
    assert parse_topic(f"/sensor/{MAIN}/gauge") == (TopicKind.GAUGE, MAIN)
    assert parse_topic(f"/device/{DEV}/config/sensor") == (TopicKind.CONFIG, DEV)
    assert parse_topic(f"/device/{DEV}/config/flx") is None
    assert parse_sample(b'[1800000000,512,"W"]', default_unit="W") == Sample(
        1_800_000_000, 512.0, "W"
    )
    assert parse_sample(b"512", default_unit="W") == Sample(None, 512.0, "W")
    assert parse_sample(b'[3.5,"L/day"]', default_unit="W").unit == "L/day"
    for bad in (b"not json", b'[1,"x","W"]', b"[1,2,3,4]", b'{"a":1}', b'[1,NaN,"W"]'):
        with pytest.raises(PayloadInvalidError):
            parse_sample(bad, default_unit="W")


def test_discovery_skips_disabled_stubs_and_reads_direction() -> None:
    tracker = _single()
    assert tracker.sensors == 2
    assert tracker.sensor(PV).direction is Direction.PRODUCTION  # type: ignore[union-attr]
    assert tracker.sensor(MAIN).direction is Direction.CONSUMPTION  # type: ignore[union-attr]


def test_gauge_is_instant_power_and_duplicates_are_dropped() -> None:
    tracker = _single()
    out, _ = tracker.feed(TopicKind.GAUGE, MAIN, Sample(T0, 420, "W"), T0)
    assert [(e.meter, e.reading.kind, e.reading.value) for e in out] == [
        (MAIN, Kind.INSTANT, 420)
    ]
    assert tracker.feed(TopicKind.GAUGE, MAIN, Sample(T0, 420, "W"), T0) == ([], [])
    assert tracker.feed(TopicKind.GAUGE, MAIN, Sample(T0 - 5, 1, "W"), T0) == ([], [])
    assert tracker.stats["duplicate"] == 1
    assert tracker.stats["out_of_order"] == 1
    # units other than W (FLM03 VAR, FLM02 water L/day) are not power series
    assert tracker.feed(TopicKind.GAUGE, MAIN, Sample(T0 + 1, 3, "VAR"), T0) == ([], [])
    assert tracker.stats["unit_ignored"] == 1


def test_unset_clock_and_future_timestamps_are_refused() -> None:
    tracker = _single()
    with pytest.raises(PayloadInvalidError, match="clock not set"):
        tracker.feed(TopicKind.GAUGE, MAIN, Sample(12, 1, "W"), T0)
    with pytest.raises(PayloadInvalidError, match="ahead"):
        tracker.feed(TopicKind.GAUGE, MAIN, Sample(T0 + 3600, 1, "W"), T0)
    # no timestamp: stamped with the receive time
    out, _ = tracker.feed(TopicKind.GAUGE, MAIN, Sample(None, 7, "W"), T0)
    assert out[0].reading.start.timestamp() == T0


def test_counter_gives_minute_energy_aligned_on_boundaries() -> None:
    tracker = _single()
    emitted = []
    for i in range(0, 181, 5):  # 600 W = 10 Wh per minute, a sample every 5 s
        out, gaps = _counter(tracker, MAIN, T0 + 30 + i, 1000 + i * 600 / 3600)
        emitted += out
        assert gaps == []
    starts = [int(e.reading.start.timestamp()) - T0 for e in emitted]
    assert starts == [60, 120]  # [T0+60, T0+120) and [T0+120, T0+180)
    assert all(e.reading.value == pytest.approx(10.0) for e in emitted)
    assert all(
        e.reading.unit is Unit.WH and e.reading.kind is Kind.INTERVAL for e in emitted
    )


def test_counter_reset_keeps_energy_continuous() -> None:
    tracker = _single()
    emitted = []
    raw = 5000.0
    for i in range(0, 241, 10):
        if i == 130:  # reflashed between two samples: the counter restarts at 0
            raw = 0.0
        emitted += _counter(tracker, MAIN, T0 + i, raw)[0]
        raw += 1.0  # 1 Wh per 10 s = 6 Wh per minute
    emitted += _counter(tracker, MAIN, T0 + 125, 0.5)[0]  # out of order: dropped
    assert tracker.stats["counter_reset"] == 1
    # the 10 s around the reset are lost (counted as 0), never negative
    assert [e.reading.value for e in emitted] == pytest.approx([6.0, 5.0, 6.0])
    assert min(e.reading.value for e in emitted) >= 0


def test_silence_opens_a_gap_reported_once_the_chain_resumes() -> None:
    tracker = _single()
    for i in range(0, 121, 10):
        _counter(tracker, MAIN, T0 + i, 100 + i / 10)
    gaps: list[Gap] = []
    emitted = []
    for i in range(400, 600, 10):  # 280 s of silence, then samples again
        out, new = _counter(tracker, MAIN, T0 + i, 100 + i / 10)
        emitted += out
        gaps += new
    assert gaps == [Gap(MAIN, T0 + 120, T0 + 420)]
    assert [int(e.reading.start.timestamp()) - T0 for e in emitted] == [420, 480]
    points: list[tuple[int, float | None]] = [
        (T0 + m, 60.0) for m in range(60, 541, 60)
    ]
    points.append((T0 + 600, None))
    backfill = tracker.backfilled(gaps[0], points)
    assert [int(e.reading.start.timestamp()) - T0 for e in backfill] == [
        120,
        180,
        240,
        300,
        360,
    ]
    assert all(e.reading.value == pytest.approx(1.0) for e in backfill)


def _three_phase() -> Tracker:
    tracker = Tracker()
    sections = {
        str(p): {
            "id": sid,
            "enable": 1,
            "type": "electricity",
            "subtype": "pplus",
            "function": "main",
            "port": [p],
        }
        for p, sid in ((1, L1), (2, L2), (3, L3))
    }
    tracker.configure(parse_config(DEV, _config(**sections)))
    return tracker


def test_three_phase_v3_is_summed_into_the_device_series_and_kept_per_phase() -> None:
    tracker = _three_phase()
    out = []
    for sid, watts in ((L1, 100), (L2, 200), (L3, 300)):
        out += tracker.feed(TopicKind.GAUGE, sid, Sample(T0, watts, "W"), T0)[0]
    assert {e.meter for e in out} == {DEV}
    by_channel = {e.reading.channel: e.reading.value for e in out}
    assert by_channel == {"l1": 100, "l2": 200, "l3": 300, "": 600}


def test_v2_three_phase_mode_is_estimated() -> None:
    tracker = Tracker()
    payload = json.dumps(
        {
            "main": {"phase": 3},
            "1": {"id": MAIN, "enable": 1, "type": "electricity", "port": [1, 2, 3]},
        }
    ).encode()
    tracker.configure(parse_config(DEV, payload))
    out, _ = tracker.feed(TopicKind.GAUGE, MAIN, Sample(T0, 2300, "W"), T0)
    assert out[0].reading.quality is Quality.ESTIMATED
    assert out[0].reading.channel == ""
