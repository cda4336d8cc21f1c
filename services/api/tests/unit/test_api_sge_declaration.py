"""The declared SGE authorisation's period rules (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from api.problems import Problem
from api.routes.sge_sites import AuthorisationIn, _declaration

TODAY = date(2026, 12, 3)


def _auth(valid_from: str, valid_until: str, **kw: str) -> AuthorisationIn:
    return AuthorisationIn.model_validate(
        {
            "authorised_by": "SCI Les Bureaux",
            "authoriser_kind": "legal",
            "valid_from": valid_from,
            "valid_until": valid_until,
            "proof_reference": "mandat 42",
            **kw,
        }
    )


def test_a_period_from_29_february_is_checked_without_error() -> None:
    declared = _declaration(_auth("2024-02-29", "2027-02-28"), TODAY)
    assert declared.valid_from.isoformat() == "2024-02-29T00:00:00+01:00"
    assert declared.valid_until.isoformat() == "2027-02-28T00:00:00+01:00"
    with pytest.raises(Problem, match="at most 3 years"):
        _declaration(_auth("2024-02-29", "2027-03-01"), TODAY)


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "extra", "message"),
    [
        ("2026-12-04", "2027-12-04", {}, "future"),
        ("2025-01-01", "2026-12-03", {}, "ended"),
        ("2026-12-01", "2027-12-01", {"history_from": "2026-12-02"}, "after"),
        ("2026-12-01", "2027-12-01", {"history_from": "2023-01-01"}, "3 years"),
    ],
)
def test_periods_that_cannot_hold_are_refused(
    valid_from: str, valid_until: str, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(Problem, match=message):
        _declaration(_auth(valid_from, valid_until, **extra), TODAY)


def test_history_defaults_to_none_and_is_paris_midnight() -> None:
    assert _declaration(_auth("2026-12-01", "2027-12-01"), TODAY).history_from is None
    summer = _declaration(
        _auth("2026-12-01", "2027-12-01", history_from="2026-07-01"), TODAY
    )
    assert summer.history_from is not None
    assert summer.history_from.isoformat() == "2026-07-01T00:00:00+02:00"
