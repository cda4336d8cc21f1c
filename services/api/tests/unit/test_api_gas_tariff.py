"""Gas priced with the dated regulated benchmark price (reference.json)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib import resources

import pytest

from api.tariffs import GasBand, GasPrice, gas_band, gas_cost


def reference_prices() -> list[GasPrice]:
    data = json.loads(
        resources.files("api").joinpath("data/reference.json").read_text()
    )
    return [
        GasPrice(
            p["band"],
            date.fromisoformat(p["valid_from"]),
            date.fromisoformat(p["valid_to"]) if p["valid_to"] else None,
            p["standing_eur_month"],
            p["eur_per_kwh"],
        )
        for p in data["gas_prices"]
    ]


def test_reference_data_has_a_dated_gas_price_and_a_gas_co2_factor() -> None:
    data = json.loads(
        resources.files("api").joinpath("data/reference.json").read_text()
    )
    assert reference_prices()
    assert any(f["energy"] == "gas" for f in data["co2_factors"])


def test_gas_days_are_priced_on_the_day_they_start_and_never_guessed() -> None:
    prices = [
        GasPrice("B1", date(2025, 7, 1), date(2026, 1, 1), 30.0, 0.10),
        GasPrice("B1", date(2026, 1, 1), None, 31.0, 0.12),
    ]
    # 31 Dec 06:00 Paris -> priced at the 2025 price; 1 Jan at the 2026 one
    days = [
        (datetime(2025, 12, 31, 5, tzinfo=UTC), 10_000.0),
        (datetime(2026, 1, 1, 5, tzinfo=UTC), 10_000.0),
        (datetime(2025, 6, 30, 4, tzinfo=UTC), 5_000.0),  # before any price
    ]
    cost = gas_cost(days, prices=prices)
    assert cost.energy_eur == pytest.approx(10 * 0.10 + 10 * 0.12)
    assert cost.standing_eur == pytest.approx(30 / 31 + 31 / 31)
    assert cost.kwh == pytest.approx(25)
    assert cost.unpriced_days == (date(2025, 6, 30),)


def reference_bands() -> list[GasBand]:
    data = json.loads(
        resources.files("api").joinpath("data/reference.json").read_text()
    )
    return [
        GasBand(b["band"], b["min_kwh_year"], b["max_kwh_year"])
        for b in data["gas_bands"]
    ]


def test_a_pce_is_priced_in_the_band_of_its_car_or_tariff_option() -> None:
    """Bands [min, max) by annual kWh: the CAR decides, then GRDF's tariff
    option, then the heating band; a CAR beyond the household bands has none."""
    bands = reference_bands()
    assert gas_band(800, "T2", bands) == ("Base", "CAR 800 kWh/yr")
    assert gas_band(1000, None, bands)[0] == "B0"  # lower bound inclusive
    assert gas_band(5999.6, None, bands)[0] == "B0"
    assert gas_band(6000, None, bands)[0] == "B1"
    assert gas_band(29_999, "T1", bands)[0] == "B1"  # the CAR wins over the option
    assert gas_band(30_000, None, bands)[0] == "B2I"
    assert gas_band(400_000, None, bands) == (None, "CAR 400000 kWh/yr")
    assert gas_band(None, "t1", bands) == ("B0", "option t1")
    assert gas_band(None, "T2", bands)[0] == "B1"
    assert gas_band(None, "T4", bands)[0] is None
    assert gas_band(None, None, bands) == ("B1", "no CAR nor option known")
    assert gas_band(12_000, None, [])[0] == "B1", "no bands loaded: the default"


def test_every_priced_band_is_a_known_band_and_prices_cite_a_source() -> None:
    names = {b.band for b in reference_bands()}
    for price in reference_prices():
        assert price.band in names
    data = json.loads(
        resources.files("api").joinpath("data/reference.json").read_text()
    )
    assert all(b["source"] for b in data["gas_bands"])
    assert all(p["source"] for p in data["gas_prices"])


def test_a_band_without_a_price_leaves_its_days_unpriced() -> None:
    prices = [GasPrice("B1", date(2020, 1, 1), None, 30.0, 0.10)]
    day = (datetime(2026, 1, 10, 5, tzinfo=UTC), 10_000.0)
    b0 = gas_cost([day], prices=prices, band="B0")
    assert b0.energy_eur == 0
    assert b0.unpriced_days == (date(2026, 1, 10),)
    b1 = gas_cost([day], prices=prices, band="B1")
    assert b1.energy_eur == pytest.approx(1.0)
    assert not b1.unpriced_days
