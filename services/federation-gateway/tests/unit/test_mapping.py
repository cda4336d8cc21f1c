"""SenML records and URNs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation_gateway.mapping import (
    AggregateUrn,
    IndividualUrn,
    Point,
    UrnError,
    from_senml,
    parse_urn,
    to_senml,
)

T0 = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)


def test_urns_round_trip() -> None:
    urn = parse_urn("urn:sen1:iris:381510101_consumption/energy/active/P1D")
    assert urn == AggregateUrn("neighbourhood", "381510101", "consumption", "P1D")
    assert str(urn) == "urn:sen1:iris:381510101_consumption/energy/active/P1D"
    prm = parse_urn("urn:dev:prm:12345678901234_consumption/power/active/raw")
    assert isinstance(prm, IndividualUrn)
    assert prm.meter_id == "12345678901234"


@pytest.mark.parametrize(
    "urn",
    [
        "urn:dev:prm:1234_consumption/power/active/raw",
        "urn:sen1:iris:381510101_consumption/energy/active/P1Y",
        "urn:sen1:country:FR_consumption/energy/active/P1D",
        "",
    ],
)
def test_unknown_urns_are_refused(urn: str) -> None:
    with pytest.raises(UrnError):
        parse_urn(urn)


def test_senml_base_fields_on_the_first_record_only_and_back() -> None:
    name = "urn:sen1:iris:381510101_consumption/energy/active/P1D"
    records = to_senml(
        name,
        "Wh",
        [Point(T0 + timedelta(days=1), 2.0, 11, 0.2), Point(T0, 1.0, 12, 0.1)],
    )
    assert records == [
        {
            "bn": name,
            "bt": int(T0.timestamp()),
            "bu": "Wh",
            "t": 0,
            "v": 1.0,
            "sen1_points": 12,
            "sen1_max_share": 0.1,
        },
        {"t": 86400, "v": 2.0, "sen1_points": 11, "sen1_max_share": 0.2},
    ]
    back = from_senml(records)
    assert [(r.urn, r.start, r.value, r.unit, r.points) for r in back] == [
        (name, T0, 1.0, "Wh", 12),
        (name, T0 + timedelta(days=1), 2.0, "Wh", 11),
    ]


def test_no_values_no_records_and_holes_are_left_out() -> None:
    assert to_senml("urn:x", "Wh", []) == []
    with pytest.raises(ValueError, match="numeric v"):
        from_senml([{"bn": "urn:x", "v": None}])
