"""The collector's mapping path (rows straight to protobuf) against the Reading path.

``to_rows`` must publish exactly what ``to_batch`` + ``batch_to_proto`` did for a
valid window (same bytes on the wire, same holes), on the days where the rules
are hard: DST days of 23 and 25 hours, mixed steps, nulls, the 2025 ISO variant;
and a bad point must be left out with its reason, not sink the window.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from energy_core.domain import PARIS, Kind, Prm, Unit
from energy_core.domain.time import days_between
from energy_core.wire import batch_to_proto, rows_to_proto
from ingest_enedis.mapping import Stream, incomplete_days, to_batch, to_rows

PRM = Prm("30001610071843")
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _curve(first: date, days: int, *, step: int = 30) -> dict[str, Any]:
    """Local end stamps without offset, as Data Connect renders a load curve."""
    start = datetime(first.year, first.month, first.day, tzinfo=PARIS).astimezone(UTC)
    last = first + timedelta(days=days)
    stop = datetime(last.year, last.month, last.day, tzinfo=PARIS).astimezone(UTC)
    points, t, i = [], start, 0
    while t < stop:
        t += timedelta(minutes=step)
        i += 1
        points.append(
            {
                "value": str(400 + (i * 37) % 900),
                "date": t.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S"),
                "interval_length": f"PT{step}M",
            }
        )
    return {"meter_reading": {"interval_reading": points}}


def _daily(first: date, days: int, *, iso: bool = False) -> dict[str, Any]:
    points = [
        {
            "value": str(9000 + 13 * n),
            "date": f"{day}T00:00:00+01:00" if iso else str(day),
        }
        for n, day in enumerate(days_between(first, first + timedelta(days=days)))
    ]
    return {"meter_reading": {"interval_reading": points}}


def _max_power(first: date, days: int) -> dict[str, Any]:
    points = [
        {"value": str(3000 + n), "date": f"{day} 19:{n % 60:02d}:00"}
        for n, day in enumerate(days_between(first, first + timedelta(days=days)))
    ]
    return {"meter_reading": {"interval_reading": points}}


def _same(stream: Stream, payload: dict[str, Any], start: date, end: date) -> None:
    old = to_batch(PRM, stream, payload, produced_at=AT)
    new = to_rows(PRM, stream, payload, produced_at=AT)
    assert new.rejected == ()
    assert new.count == len(old.readings) > 0
    assert new.batch.to_batch() == old
    assert (
        rows_to_proto(new.batch).SerializeToString()
        == batch_to_proto(old).SerializeToString()
    )
    curve = stream.is_curve
    assert new.incomplete_days(start, end, curve=curve) == incomplete_days(
        old.readings, start, end, curve=curve
    )


@pytest.mark.parametrize(
    "first",
    [date(2025, 3, 27), date(2025, 10, 23), date(2026, 1, 5)],
    ids=["spring-forward week", "fall-back week", "winter week"],
)
@pytest.mark.parametrize("stream", [Stream.LOAD_CURVE, Stream.PRODUCTION_CURVE])
def test_curve_rows_equal_the_reading_path_on_dst_weeks(first, stream):
    payload = _curve(first, 7)
    _same(stream, payload, first, first + timedelta(days=7))
    rows = to_rows(PRM, stream, payload, produced_at=AT).batch.series[0]
    assert rows.kind is Kind.INTERVAL
    assert rows.unit is Unit.WH
    assert rows.direction is stream.direction


def test_curve_rows_with_mixed_steps_and_nulls_equal_the_reading_path():
    day = date(2025, 10, 26)  # 25 hours
    payload = _curve(day, 1, step=30)
    points = payload["meter_reading"]["interval_reading"]
    points[3]["value"] = "null"
    points[7]["value"] = None
    del points[11]
    payload["meter_reading"]["interval_reading"] = (
        points
        + _curve(day + timedelta(days=1), 1, step=10)["meter_reading"][
            "interval_reading"
        ]
    )
    _same(Stream.LOAD_CURVE, payload, day, day + timedelta(days=2))
    holes = to_rows(PRM, Stream.LOAD_CURVE, payload, produced_at=AT).incomplete_days(
        day, day + timedelta(days=2), curve=True
    )
    assert holes == [day]  # the nulls and the missing point leave it incomplete


@pytest.mark.parametrize("stream", [Stream.DAILY_CONSUMPTION, Stream.DAILY_PRODUCTION])
def test_daily_rows_equal_the_reading_path_over_a_year(stream):
    first = date(2025, 1, 1)
    payload = _daily(first, 365)
    payload["meter_reading"]["interval_reading"][40]["value"] = "null"
    _same(stream, payload, first, first + timedelta(days=366))


def test_daily_rows_of_the_iso_variant_and_max_power_equal_the_reading_path():
    first = date(2025, 3, 20)
    _same(
        Stream.DAILY_CONSUMPTION, _daily(first, 20, iso=True), first, date(2025, 4, 9)
    )
    _same(Stream.MAX_POWER, _max_power(first, 20), first, date(2025, 4, 9))


def test_an_empty_window_is_the_same_empty_record():
    empty = {"meter_reading": {"interval_reading": []}}
    old = to_batch(PRM, Stream.DAILY_CONSUMPTION, empty, produced_at=AT)
    new = to_rows(PRM, Stream.DAILY_CONSUMPTION, empty, produced_at=AT)
    assert new.count == 0
    assert (
        rows_to_proto(new.batch).SerializeToString()
        == batch_to_proto(old).SerializeToString()
    )


@pytest.mark.parametrize(
    ("stream", "field", "bad", "reason"),
    [
        (Stream.DAILY_CONSUMPTION, "value", "abc", "not a number"),
        (Stream.DAILY_CONSUMPTION, "value", "inf", "not a finite number"),
        (Stream.DAILY_CONSUMPTION, "date", "2025-13-45", "not a Data Connect date"),
        (Stream.LOAD_CURVE, "value", "NaN-ish", "not a number"),
        (Stream.LOAD_CURVE, "value", "-inf", "not a finite number"),
        (Stream.LOAD_CURVE, "interval_length", "PT0M", "is not PT<n>M"),
        (Stream.MAX_POWER, "value", "12 kVA", "not a number"),
    ],
)
def test_a_bad_point_is_left_out_with_its_reason_and_its_day_stays_a_hole(
    stream, field, bad, reason
):
    first = date(2025, 1, 6)
    if stream.is_curve:
        payload = _curve(first, 2)
        index = 60  # a point of the second day
    elif stream is Stream.MAX_POWER:
        payload, index = _max_power(first, 2), 1
    else:
        payload, index = _daily(first, 2), 1
    points = payload["meter_reading"]["interval_reading"]
    sent_date = points[index]["date"]
    points[index][field] = bad
    mapped = to_rows(PRM, stream, payload, produced_at=AT)
    assert len(mapped.rejected) == 1
    when, why = mapped.rejected[0]
    assert reason in why
    assert when == (bad if field == "date" else sent_date)
    assert mapped.count == len(points) - 1  # the others still travel
    assert mapped.incomplete_days(first, date(2025, 1, 8), curve=stream.is_curve) == [
        date(2025, 1, 7)
    ]


def test_a_payload_without_meter_reading_is_still_refused_as_a_whole():
    from energy_core.errors import PayloadInvalidError

    with pytest.raises(PayloadInvalidError):
        to_rows(PRM, Stream.LOAD_CURVE, {"nope": 1}, produced_at=AT)
