"""Mapping rules: payload shapes, discovery, counters, resets, duplicates, phases."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def _flm03(pminus: bool = True) -> Tracker:
    sections = {}
    for slot, (subtype, sids) in enumerate(
        (("pplus", (L1, L2, L3)), ("pminus", (M1, M2, M3)) if pminus else ("", ()))
    ):
        for p, sid in enumerate(sids, start=1):
            sections[str(slot * 3 + p)] = {
                "id": sid,
                "enable": 1,
                "type": "electricity",
                "subtype": subtype,
                "function": "main",
                "port": [p],
            }
    tracker = Tracker()
    tracker.configure(parse_config(DEV, _config(**sections)))
    return tracker


M1, M2, M3 = (FluksoSensorId(c * 32) for c in "456")


def _by_series(out: list[Emitted]) -> dict[tuple[str, Direction, str], float]:
    series = {}
    for e in out:
        key = (e.meter, e.reading.direction, e.reading.channel)
        assert key not in series, f"{key} emitted twice"
        series[key] = e.reading.value
    return series


def test_flm03_pminus_is_export_summed_per_direction_and_netted() -> None:
    tracker = _flm03()
    out = []
    gauges = ((L1, 100), (L2, 200), (L3, 300), (M1, 0), (M2, 50), (M3, 0))
    for sid, watts in gauges:
        out += tracker.feed(TopicKind.GAUGE, sid, Sample(T0, watts, "W"), T0)[0]
    C, P = Direction.CONSUMPTION, Direction.PRODUCTION
    assert _by_series(out) == {
        (DEV, C, "l1"): 100,
        (DEV, C, "l2"): 200,
        (DEV, C, "l3"): 300,
        (DEV, C, ""): 600,
        (DEV, P, "l1"): 0,
        (DEV, P, "l2"): 50,
        (DEV, P, "l3"): 0,
        (DEV, P, ""): 50,
        (DEV, C, "net"): 550,  # import
        (DEV, P, "net"): 0,  # export
    }


def test_net_of_a_main_and_a_pv_sensor_per_gauge_and_per_minute() -> None:
    tracker = _single()  # MAIN consumption, PV production
    out = []
    for i in range(0, 181, 10):
        ts = T0 + i
        out += tracker.feed(TopicKind.GAUGE, MAIN, Sample(ts, 600, "W"), ts)[0]
        out += tracker.feed(TopicKind.GAUGE, PV, Sample(ts, 900, "W"), ts)[0]
        out += _counter(tracker, MAIN, ts, 1000 + i * 600 / 3600)[0]  # 10 Wh/min
        out += _counter(tracker, PV, ts, 5000 + i * 900 / 3600)[0]  # 15 Wh/min
    net = [e for e in out if e.reading.channel == "net"]
    assert {e.meter for e in net} == {DEV}
    instant = {
        (e.reading.direction, int(e.reading.start.timestamp()) - T0): e.reading.value
        for e in net
        if e.reading.kind is Kind.INSTANT
    }
    assert instant[(Direction.CONSUMPTION, 60)] == 0  # importing nothing
    assert instant[(Direction.PRODUCTION, 60)] == 300  # exporting 300 W
    assert len(instant) == 2 * 19
    minutes = [e.reading for e in net if e.reading.kind is Kind.INTERVAL]
    assert [(int(r.start.timestamp()) - T0, r.direction) for r in minutes] == [
        (60, Direction.CONSUMPTION),
        (60, Direction.PRODUCTION),
        (120, Direction.CONSUMPTION),
        (120, Direction.PRODUCTION),
    ]
    assert [r.value for r in minutes] == pytest.approx([0, 5] * 2)
    assert all(r.unit is Unit.WH for r in minutes)


def test_no_net_when_a_direction_has_two_series() -> None:
    payload = _config(
        **{
            "1": {"id": MAIN, "enable": 1, "type": "electricity", "function": "main"},
            "2": {"id": L1, "enable": 1, "type": "electricity", "function": "heat"},
            "3": {"id": PV, "enable": 1, "type": "electricity", "function": "solar"},
        }
    )
    assert not parse_config(DEV, payload).net
    assert parse_config(DEV, _config(**{"1": {"id": MAIN, "enable": 1}})).net is False


def test_a_counter_at_rest_gives_zero_minutes_while_its_gauge_reads_zero() -> None:
    tracker = _single()
    _counter(tracker, PV, T0 + 5, 1000)  # the last value before the night
    out = []
    for ts in range(T0, T0 + 200):
        out += tracker.feed(TopicKind.GAUGE, PV, Sample(ts, 0, "W"), ts)[0]
    for ts in range(T0 + 200, T0 + 400):  # sunrise: 120 W, 2 Wh per minute
        out += tracker.feed(TopicKind.GAUGE, PV, Sample(ts, 120, "W"), ts)[0]
        if ts % 30 == 0:
            out += _counter(tracker, PV, ts, 1000 + (ts - T0 - 200) / 30)[0]
    minutes = [e.reading for e in out if e.reading.kind is Kind.INTERVAL]
    starts = [int(r.start.timestamp()) - T0 for r in minutes]
    assert starts == [60, 120, 180, 240, 300]  # each minute once, none before the
    assert [r.value for r in minutes[:2]] == [0, 0]  # first counter sample
    # every Wh the counter moved is in exactly one minute
    assert sum(r.value for r in minutes) == pytest.approx(
        1000 + (360 - 200) / 30 - 1000
    )


def test_a_hole_closes_when_a_counter_at_rest_resumes_after_a_silence() -> None:
    tracker = _single()
    _counter(tracker, PV, T0, 1000)
    for ts in range(T0, T0 + 130):
        tracker.feed(TopicKind.GAUGE, PV, Sample(ts, 0, "W"), ts)
    gaps = []
    out = []
    for ts in range(T0 + 300, T0 + 500):  # Wi-Fi back after 170 s of silence
        if ts == T0 + 301:  # the counter moved while offline
            gaps += _counter(tracker, PV, ts, 1001)[1]
        new_out, new_gaps = tracker.feed(TopicKind.GAUGE, PV, Sample(ts, 0, "W"), ts)
        out += new_out
        gaps += new_gaps
    assert gaps == [Gap(PV, T0 + 120, T0 + 360)]  # after the last live minute
    starts = [
        int(e.reading.start.timestamp()) - T0
        for e in out
        if e.reading.kind is Kind.INTERVAL
    ]
    assert starts == [360, 420]  # then 0 Wh minutes, none inside the hole


def test_parts_that_never_complete_are_dropped_after_the_horizon() -> None:
    tracker = _three_phase()
    for ts in range(T0, T0 + 300):  # L3 is lost (QoS 0)
        tracker.feed(TopicKind.GAUGE, L1, Sample(ts, 1, "W"), ts)
        tracker.feed(TopicKind.GAUGE, L2, Sample(ts, 1, "W"), ts)
    assert tracker.pending <= 61
    assert tracker.stats["phase_incomplete"] >= 239


@given(
    ts=st.integers(min_value=0, max_value=2**40),
    value=st.one_of(
        st.integers(min_value=-(2**31), max_value=2**31),
        st.floats(min_value=-1e6, max_value=1e6).map(lambda v: round(v, 3)),
    ),
    unit=st.sampled_from(["W", "Wh", "VAR", "L/day", "m3/s", "%", "kWh"]),
)
def test_the_firmware_fast_path_reads_what_json_reads(
    ts: int, value: float, unit: str
) -> None:
    payload = json.dumps([ts, value, unit], separators=(",", ":")).encode()
    expected = json.loads(payload)
    assert parse_sample(payload, default_unit="W") == Sample(
        expected[0], float(expected[1]), expected[2]
    )
    spaced = json.dumps([ts, value, unit]).encode()  # not the firmware's format
    assert parse_sample(spaced, default_unit="W") == parse_sample(
        payload, default_unit="W"
    )
