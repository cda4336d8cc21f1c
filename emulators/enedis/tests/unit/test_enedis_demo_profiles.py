"""Demo PRMs have believable days: season, weather, weekends, equipment, anomalies."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

from enedis_emulator import build_state, profiles
from enedis_emulator.settings import EmulatorSettings
from energy_core.domain import PARIS

CLOCK = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _demo_meters() -> list[profiles.Meter]:
    state = build_state(EmulatorSettings(), clock=lambda: CLOCK)
    return [m for m in state.meters.values() if m.home is not None]


def _year(meter: profiles.Meter) -> list[int]:
    start = date(2025, 12, 1)
    return [
        profiles.daily_wh(meter, start + timedelta(days=k), False) for k in range(365)
    ]


def test_days_vary_and_electric_heating_follows_winter() -> None:
    meters = _demo_meters()
    electric = next(
        m for m in meters if m.home.heating == "electric" and not m.home.anomaly
    )  # type: ignore[union-attr]
    days = _year(electric)
    assert len(set(days)) > 300  # not a constant profile
    winter = statistics.mean(days[31:59])  # January
    summer = statistics.mean(days[212:243])  # July
    assert winter > 2 * summer
    gas = next(m for m in meters if m.home.heating == "gas" and m.home.kind == "home")  # type: ignore[union-attr]
    gas_days = _year(gas)
    assert statistics.mean(gas_days[31:59]) < 1.5 * statistics.mean(gas_days[212:243])


def test_homes_differ_from_each_other() -> None:
    totals = {sum(_year(m)) for m in _demo_meters()[:40]}
    assert len(totals) == 40


def test_offices_sleep_on_weekends_unless_anomalous() -> None:
    meters = _demo_meters()
    monday, sunday = date(2026, 6, 8), date(2026, 6, 14)
    normal = next(m for m in meters if m.home.kind != "home" and not m.home.anomaly)  # type: ignore[union-attr]
    odd = next(m for m in meters if m.home.anomaly == "weekend_baseload")  # type: ignore[union-attr]
    ratio = profiles.daily_wh(normal, sunday, False) / profiles.daily_wh(
        normal, monday, False
    )
    odd_ratio = profiles.daily_wh(odd, sunday, False) / profiles.daily_wh(
        odd, monday, False
    )
    assert ratio < 0.45 < odd_ratio


def test_night_baseload_and_broken_heater_show_in_the_curve() -> None:
    meters = _demo_meters()
    day = date(2026, 5, 20)  # a mild May day
    night = next(m for m in meters if m.home.anomaly == "night_baseload")  # type: ignore[union-attr]
    values, _ = profiles.curve_day(night, day, False)
    assert min(values[:12]) >= 450  # something stays on all night
    broken = next(m for m in meters if m.home.anomaly == "broken_heater")  # type: ignore[union-attr]
    healthy = [m for m in meters if m.home.heating == "electric" and m.home.kind == "home"  # type: ignore[union-attr]
               and not m.home.anomaly]  # type: ignore[union-attr]  # fmt: skip
    assert profiles.temperature_c(day) > 13
    may = [profiles.daily_wh(m, day, False) / m.home.surface_m2 for m in healthy]  # type: ignore[union-attr]
    assert profiles.daily_wh(broken, day, False) / broken.home.surface_m2 > max(may)  # type: ignore[union-attr]


def test_pv_homes_produce_more_in_june_and_days_add_up() -> None:
    pv = next(m for m in _demo_meters() if m.production)
    june = sum(profiles.daily_wh(pv, date(2026, 6, d), True) for d in range(1, 31))
    december = sum(profiles.daily_wh(pv, date(2025, 12, d), True) for d in range(1, 31))
    assert june > 2 * december  # surplus of a self-consuming home
    assert june > 0
    values, minutes = profiles.curve_day(pv, date(2026, 6, 10), False)
    assert profiles.daily_wh(pv, date(2026, 6, 10), False) == sum(
        v * minutes // 60 for v in values
    )
    assert all(v % 2 == 0 and v >= 0 for v in values)


def test_dst_days_have_46_and_50_intervals() -> None:
    meter = _demo_meters()[0]
    assert len(profiles.curve_day(meter, date(2026, 3, 29), False)[0]) in (23, 46)
    assert len(profiles.curve_day(meter, date(2026, 10, 25), False)[0]) in (25, 50)


def test_a_day_s_max_power_is_an_instant_of_that_day() -> None:
    # A home whose peak is the last half-hour (heating and the off-peak tank at
    # night) must not see its maximum filed under the next day, the day Data
    # Connect has not published yet.
    days = [date(2026, 1, 10) + timedelta(days=k) for k in range(0, 330, 7)]
    days += [date(2026, 3, 29), date(2026, 10, 25)]  # 23 h and 25 h days
    last_half_hour = 0
    for meter in _demo_meters()[:120]:
        for day in days:
            values, _ = profiles.curve_day(meter, day, False)
            _, at = profiles.max_power(meter, day)
            assert at.astimezone(PARIS).date() == day
            last_half_hour += values.index(max(values)) == len(values) - 1
    assert last_half_hour > 0  # the edge is met, not only ordinary days
