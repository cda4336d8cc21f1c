"""Gas days, profile determinism and shape, indexes (pure functions)."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

from grdf_emulator import demo_meters, profiles, series
from grdf_emulator.profiles import SANDBOX, gas_day_bounds, gas_day_hours
from grdf_emulator.validation import Window

METERS = {m.pce: m for m in SANDBOX}


def test_gas_day_runs_6_to_6_with_dst_days_of_23_and_25_hours() -> None:
    start, end = gas_day_bounds(date(2026, 3, 28))
    assert start.isoformat() == "2026-03-28T06:00:00+01:00"
    assert end.isoformat() == "2026-03-29T06:00:00+02:00"
    assert gas_day_hours(date(2026, 3, 28)) == 23
    assert (
        gas_day_hours(date(2026, 3, 29)) == 24
    )  # the calendar DST day is a normal gas day
    assert gas_day_hours(date(2026, 10, 24)) == 25
    assert gas_day_hours(date(2021, 8, 16)) == 24
    summer_start, _ = gas_day_bounds(date(2021, 8, 16))
    assert summer_start.isoformat() == "2021-08-16T06:00:00+02:00"
    hours = [gas_day_hours(date(2025, 1, 1) + timedelta(days=i)) for i in range(365)]
    assert sorted(set(hours)) == [23, 24, 25]
    assert sum(hours) == 365 * 24


def test_profiles_are_deterministic_and_differ_between_homes() -> None:
    first, second = demo_meters(), demo_meters()
    assert first == second
    day = date(2026, 1, 14)
    volumes = {m.pce: profiles.daily_volume(m, day) for m in first}
    assert volumes == {m.pce: profiles.daily_volume(m, day) for m in second}
    assert len(set(volumes.values())) > len(volumes) * 0.8


def test_heating_season_drives_consumption() -> None:
    home = demo_meters()[0]
    winter = [
        profiles.daily_kwh(home, date(2026, 1, 1) + timedelta(days=i))
        for i in range(31)
    ]
    summer = [
        profiles.daily_kwh(home, date(2026, 7, 1) + timedelta(days=i))
        for i in range(31)
    ]
    assert statistics.mean(winter) > 4 * statistics.mean(summer) > 0
    assert statistics.pstdev(winter) > 1  # weather-driven, not constant
    # colder days use more gas (heating degree days)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(90)]
    cold = [profiles.daily_kwh(home, d) for d in days if profiles.temperature(d) < 3]
    mild = [profiles.daily_kwh(home, d) for d in days if profiles.temperature(d) > 8]
    assert cold
    assert mild
    assert statistics.mean(cold) > statistics.mean(mild)


def test_public_buildings_heat_less_on_weekends() -> None:
    school = next(m for m in demo_meters() if m.usage == "public")
    weeks = [date(2026, 1, 5) + timedelta(days=i) for i in range(56)]
    weekday = [
        profiles.daily_kwh(school, d) / max(profiles.heating_degree_days(d), 1)
        for d in weeks
        if d.weekday() < 5
    ]
    weekend = [
        profiles.daily_kwh(school, d) / max(profiles.heating_degree_days(d), 1)
        for d in weeks
        if d.weekday() >= 5
    ]
    assert statistics.mean(weekend) < 0.6 * statistics.mean(weekday)


def test_demo_holders_are_the_demo_residents() -> None:
    from energy_store import demo

    territory = demo.build()
    by_meter = {meter: r for r in territory.residents for meter in r.meters}
    meters = demo_meters()
    assert len(meters) == sum(
        1 for m in territory.meters if m.meter.scheme.value == "pce"
    )
    for meter in meters:
        assert meter.address.code_postal == "38130"
        resident = by_meter.get(meter.pce)
        if meter.usage in ("flat", "house"):
            assert resident is not None
            assert (meter.holder.nom, meter.holder.courriel) == (
                resident.display_name,
                resident.email,
            )
        else:  # consented by the building's manager: the holder's own address
            assert resident is not None
            assert resident.email == meter.holder.courriel
            assert meter.holder.raison_sociale


def test_energy_rule_integer_indexes_and_telescoping() -> None:
    home = METERS["09999999900617"]
    window = Window(date(2026, 1, 1), date(2026, 2, 1), None)
    days = [
        series.informative(home, date(2026, 1, 1) + timedelta(days=i), window, True)
        for i in range(31)
    ]
    for record in days:
        conso = record["consommation"]
        assert conso["energie"] == round(
            conso["volume_brut"] * conso["coeff_calcul"]["coeff_conversion"]
        )
        assert isinstance(
            record["releve_debut"]["index_brut_debut"]["valeur_index"], int
        )
    volume = sum(d["consommation"]["volume_brut"] for d in days)
    first = days[0]["releve_debut"]["index_brut_debut"]["valeur_index"]
    last = days[-1]["releve_fin"]["index_brut_fin"]["valeur_index"]
    assert abs((last - first) - volume) < 1  # indexes floor the same cumulative volume
    assert any(
        d["releve_fin"]["index_brut_fin"]["valeur_index"]
        - d["releve_debut"]["index_brut_debut"]["valeur_index"]
        != round(d["consommation"]["volume_brut"])
        for d in days
    )


def test_index_rolls_over_to_zero_with_the_flag() -> None:
    meter = METERS["GI999055"]  # 5-digit index starting at 99,200 m³
    flagged = []
    day = date(2019, 1, 1)
    while day < date(2020, 1, 1):
        index_start, _ = profiles.index_at(meter, day)
        index_end, rolled = profiles.index_at(meter, day + timedelta(days=1))
        if rolled:
            flagged.append((day, index_start, index_end))
        day += timedelta(days=1)
    assert len(flagged) == 1
    _, before, after = flagged[0]
    assert before > 99_000
    assert after < 1000


def test_meter_change_restarts_the_index() -> None:
    meter = METERS["GI999150"]
    assert profiles.index_at(meter, meter.meter_change)[0] == 0
    assert profiles.index_at(meter, meter.meter_change - timedelta(days=1))[0] > 1000


def test_absence_is_zero_consumption_not_missing() -> None:
    away = next(m for m in demo_meters() if m.absence is not None)
    start = away.absence[0].replace(year=2026)
    assert profiles.daily_volume(away, start) == 0
    assert profiles.daily_volume(away, start - timedelta(days=1)) > 0


def test_late_days_are_caught_up() -> None:
    home = METERS["09999999900617"]
    today = date(2026, 11, 23)
    late = [
        d
        for d in (today - timedelta(days=i) for i in range(2, 400))
        if profiles.is_late(home, d, 0.03)
    ]
    assert late  # about 3 % of days
    day = late[0]
    assert not series.published_until(home, day, day + timedelta(days=2), 2, 0.03, 3)
    assert series.published_until(home, day, day + timedelta(days=5), 2, 0.03, 3)
    on_time = next(
        d
        for d in (today - timedelta(days=i) for i in range(2, 40))
        if not profiles.is_late(home, d, 0.03)
    )
    assert series.published_until(
        home, on_time, on_time + timedelta(days=2), 2, 0.03, 3
    )
    assert not series.published_until(
        home, on_time, on_time + timedelta(days=1), 2, 0.03, 3
    )


def test_published_periods_monthly_and_half_yearly() -> None:
    monthly = profiles.reading_periods(
        METERS["09999999900617"], date(2025, 1, 1), date(2026, 1, 1)
    )
    half = profiles.reading_periods(
        METERS["09999999975102"], date(2023, 1, 1), date(2026, 1, 1)
    )
    assert all(b.month - a.month in (1, -11) for a, b in monthly)
    assert all((b.year * 12 + b.month) - (a.year * 12 + a.month) == 6 for a, b in half)
    assert all(a < date(2026, 1, 1) and b > date(2025, 1, 1) for a, b in monthly)
