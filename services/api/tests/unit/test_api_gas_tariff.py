"""Gas priced with the dated regulated benchmark price (reference.json)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib import resources

import pytest

from api.tariffs import GasPrice, gas_cost


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
