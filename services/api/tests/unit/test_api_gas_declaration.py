"""The GRDF declaration's window rules (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from api.problems import Problem
from api.routes.gas_rights import DeclareIn, _check_windows

LEAP_DAY = date(2028, 2, 29)


def _body(data_from: str, right_end: str) -> DeclareIn:
    return DeclareIn.model_validate(
        {
            "meter_id": "21382000000001",
            "holder_name": "Camille Martin",
            "email": "camille@example.org",
            "postcode": "38130",
            "data_from": data_from,
            "data_until": right_end,
            "right_end": right_end,
        }
    )


def test_a_declaration_on_29_february_is_checked_without_error() -> None:
    """Three years before or after 29 February is 28 February (never further)."""
    _check_windows(_body("2025-03-01", "2031-02-27"), LEAP_DAY)
    with pytest.raises(Problem, match="3 years of daily data"):
        _check_windows(_body("2025-02-28", "2029-02-28"), LEAP_DAY)
    with pytest.raises(Problem, match="between today and 3 years"):
        _check_windows(_body("2027-01-01", "2031-02-28"), LEAP_DAY)


def test_the_windows_on_an_ordinary_day() -> None:
    today = date(2026, 12, 3)
    _check_windows(_body("2023-12-04", "2029-12-02"), today)
    with pytest.raises(Problem, match="3 years of daily data"):
        _check_windows(_body("2023-12-03", "2027-12-03"), today)
    with pytest.raises(Problem, match="between today and 3 years"):
        _check_windows(_body("2026-01-01", "2029-12-03"), today)
    with pytest.raises(Problem, match="between today and 3 years"):
        _check_windows(_body("2026-01-01", "2026-12-02"), today)
