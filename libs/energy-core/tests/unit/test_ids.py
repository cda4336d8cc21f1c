"""Identifiers refuse bad input at construction, naming the field."""

import pytest

from energy_core import InvalidValueError
from energy_core.domain import FluksoSensorId, Idu, IrisCode, Pce, Prm, meter_id


def test_prm_accepts_fourteen_digits() -> None:
    assert Prm("30001610071843") == "30001610071843"


@pytest.mark.parametrize(
    "value", ["3000161007184", "300016100718431", "3000161007184a", ""]
)
def test_prm_refuses_anything_else_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Prm(value)
    assert excinfo.value.field == "prm"
    assert "14 digits" in str(excinfo.value)


@pytest.mark.parametrize("value", ["09999999900617", "GI999055"])
def test_pce_accepts_both_grdf_formats(value: str) -> None:
    assert Pce(value) == value


def test_pce_refuses_short_industrial_id() -> None:
    with pytest.raises(InvalidValueError, match="pce"):
        Pce("GI99905")


def test_flukso_sensor_id_is_lowercase_hex() -> None:
    FluksoSensorId("c1411c6b4f9910bbbab09f145f8533b9")
    with pytest.raises(InvalidValueError, match="flukso_sensor_id"):
        FluksoSensorId("C1411C6B4F9910BBBAB09F145F8533B9")


def test_meter_id_dispatches_on_scheme() -> None:
    assert isinstance(meter_id("prm", "30001610071843"), Prm)
    with pytest.raises(InvalidValueError, match="scheme"):
        meter_id("linky", "30001610071843")


@pytest.mark.parametrize(
    "value", ["38151000AB0017", "25056000HZ0346", "2A004000AB0001"]
)
def test_idu_accepts_canonical_identifiers(value: str) -> None:
    assert Idu(value).commune == value[:5]


@pytest.mark.parametrize(
    "value", ["38151000AB017", "38151000ab0017", "38151AB0017000", "381510000AB0017"]
)
def test_idu_refuses_malformed_identifiers(value: str) -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Idu(value)
    assert excinfo.value.field == "idu"


def test_iris_code_knows_its_commune() -> None:
    assert IrisCode("381510101").commune == "38151"
    with pytest.raises(InvalidValueError, match="iris"):
        IrisCode("38151010")
