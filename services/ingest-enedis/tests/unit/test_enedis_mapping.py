"""Mapping: end-stamped local times -> aware intervals, DST, nulls, mixed steps."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.domain import PARIS, Direction, Kind, Prm, Stamp, Unit
from energy_core.errors import PayloadInvalidError
from ingest_enedis.mapping import (
    Stream,
    curve_readings,
    daily_readings,
    incomplete_days,
    max_power_readings,
    parse_address,
    parse_contract,
    to_batch,
)


def _curve(day: date, watts: int = 1000) -> dict:
    """A PT30M curve of a local day, rendered as Enedis does (local end stamps)."""
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    nxt = day + timedelta(days=1)
    stop = datetime(nxt.year, nxt.month, nxt.day, tzinfo=PARIS).astimezone(UTC)
    points = []
    t = start
    while t < stop:
        t += timedelta(minutes=30)
        local = t.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
        points.append({"value": str(watts), "date": local, "interval_length": "PT30M"})
    return {"meter_reading": {"interval_reading": points}}


def test_end_stamped_point_becomes_aware_interval():
    payload = {
        "meter_reading": {
            "interval_reading": [
                {
                    "value": "540",
                    "date": "2019-05-06 03:00:00",
                    "interval_length": "PT30M",
                }
            ]
        }
    }
    (reading,) = curve_readings(payload, Direction.CONSUMPTION)
    assert reading.end == datetime(2019, 5, 6, 3, 0, tzinfo=PARIS)
    assert reading.start == datetime(2019, 5, 6, 2, 30, tzinfo=PARIS)
    assert reading.value == 270.0  # 540 W over 30 minutes
    assert reading.kind is Kind.INTERVAL
    assert reading.unit is Unit.WH


@pytest.mark.parametrize(
    ("day", "points"), [(date(2026, 3, 29), 46), (date(2025, 10, 26), 50)]
)
def test_dst_days_have_46_or_50_half_hours_covering_the_day(day, points):
    readings = curve_readings(_curve(day), Direction.CONSUMPTION)
    assert len(readings) == points
    starts = [r.start for r in readings]
    assert len(set(starts)) == points  # the repeated 02:xx local times are distinct
    assert readings[0].start == datetime(day.year, day.month, day.day, tzinfo=PARIS)
    assert all(b.start == a.end for a, b in itertools.pairwise(readings))
    assert sum(r.value for r in readings) == 500.0 * points
    assert incomplete_days(readings, day, day + timedelta(days=1), curve=True) == []


def test_null_and_missing_values_give_no_reading_and_a_hole():
    payload = _curve(date(2025, 1, 8))
    payload["meter_reading"]["interval_reading"][3]["value"] = "null"
    payload["meter_reading"]["interval_reading"][4]["value"] = None
    del payload["meter_reading"]["interval_reading"][5]
    readings = curve_readings(payload, Direction.CONSUMPTION)
    assert len(readings) == 45
    day = date(2025, 1, 8)
    assert incomplete_days(readings, day, day + timedelta(days=2), curve=True) == [
        day,
        day + timedelta(days=1),
    ]


def test_mixed_steps_give_the_right_energy():
    payload = {
        "meter_reading": {
            "interval_reading": [
                {
                    "value": "600",
                    "date": "2025-01-08 01:00:00",
                    "interval_length": "PT60M",
                },
                {
                    "value": "600",
                    "date": "2025-01-08 01:30:00",
                    "interval_length": "PT30M",
                },
                {
                    "value": "600",
                    "date": "2025-01-08 01:45:00",
                    "interval_length": "PT15M",
                },
                {
                    "value": "600",
                    "date": "2025-01-08 01:55:00",
                    "interval_length": "PT10M",
                },
            ]
        }
    }
    readings = curve_readings(payload, Direction.PRODUCTION)
    assert [r.value for r in readings] == [600.0, 300.0, 150.0, 100.0]
    assert [r.start.astimezone(PARIS).strftime("%H:%M") for r in readings] == [
        "00:00",
        "01:00",
        "01:30",
        "01:45",
    ]
    assert all(r.direction is Direction.PRODUCTION for r in readings)


def test_bad_values_are_refused_clearly():
    payload = {
        "meter_reading": {"interval_reading": [{"value": "abc", "date": "2025-01-08"}]}
    }
    with pytest.raises(PayloadInvalidError, match="abc"):
        daily_readings(payload, Direction.CONSUMPTION)
    with pytest.raises(PayloadInvalidError):
        curve_readings({"nope": 1}, Direction.CONSUMPTION)
    infinite = _curve(date(2025, 1, 8))
    infinite["meter_reading"]["interval_reading"][0]["value"] = "inf"
    with pytest.raises(PayloadInvalidError, match="finite"):
        curve_readings(infinite, Direction.CONSUMPTION)


def test_daily_readings_cover_the_local_day_and_skip_nulls():
    payload = {
        "meter_reading": {
            "interval_reading": [
                {"value": "12000", "date": "2025-10-26"},
                {"value": "null", "date": "2025-10-27"},
            ]
        }
    }
    (reading,) = daily_readings(payload, Direction.CONSUMPTION)
    assert reading.end.astimezone(UTC) - reading.start.astimezone(UTC) == timedelta(
        hours=25
    )
    holes = incomplete_days(
        [reading], date(2025, 10, 26), date(2025, 10, 28), curve=False
    )
    assert holes == [date(2025, 10, 27)]


def test_max_power_and_iso_variant():
    payload = {
        "meter_reading": {
            "interval_reading": [
                {"value": "4200", "date": "2025-05-01 19:30:00"},
                {"value": "3900", "date": "2025-05-02T04:12:00.000Z"},
            ]
        }
    }
    first, second = max_power_readings(payload)
    assert first.kind is Kind.MAXIMUM
    assert first.unit is Unit.VA
    assert first.value == 4200
    assert first.start == datetime(2025, 5, 1, tzinfo=PARIS)
    assert second.start == datetime(2025, 5, 2, tzinfo=PARIS)


def test_batch_stamps():
    prm = Prm("22516914714270")
    now = datetime(2025, 1, 9, tzinfo=UTC)
    curve = to_batch(prm, Stream.LOAD_CURVE, _curve(date(2025, 1, 8)), produced_at=now)
    assert curve.stamped is Stamp.END
    assert len(curve.readings) == 48
    daily = to_batch(
        prm,
        Stream.DAILY_PRODUCTION,
        {"meter_reading": {"interval_reading": [{"value": "1", "date": "2025-01-08"}]}},
        produced_at=now,
    )
    assert daily.stamped is Stamp.START
    assert daily.readings[0].direction is Direction.PRODUCTION


def test_contract_and_address():
    contract = parse_contract(
        {
            "customer": {
                "usage_points": [
                    {
                        "contracts": {
                            "subscribed_power": "9 kVA",
                            "last_activation_date": "2019-08-27+01:00",
                            "distribution_tariff": "BTINFCUST",
                            "offpeak_hours": "HC (23h00-7h30)",
                            "contract_status": "SERVC",
                        }
                    }
                ]
            }
        }
    )
    assert contract.subscribed_power_kva == 9.0
    assert contract.last_activation_date == date(2019, 8, 27)
    assert contract.offpeak_hours == "HC (23h00-7h30)"
    address = parse_address(
        {
            "customer": {
                "usage_points": [
                    {
                        "usage_point": {
                            "usage_point_addresses": {
                                "insee_code": "38151",
                                "geo_points": {"latitude": "45.1", "longitude": "5.7"},
                            }
                        }
                    }
                ]
            }
        }
    )
    assert (address.insee_code, address.latitude, address.longitude) == (
        "38151",
        45.1,
        5.7,
    )
