"""Identifiers validated at construction: meters, series and territory codes.

Each type is a ``str`` subclass so that it can be used as a key, logged, compared and
serialised like the string it is, but it cannot be built from an invalid value.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import ClassVar

from energy_core.errors import InvalidValueError


class _ValidatedStr(str):
    """A string checked against ``_pattern`` when built; ``_field`` names it in errors."""

    _pattern: ClassVar[re.Pattern[str]]
    _rule: ClassVar[str]
    _field: ClassVar[str]

    def __new__(cls, value: str) -> _ValidatedStr:
        if not isinstance(value, str) or not cls._pattern.fullmatch(value):
            raise InvalidValueError(cls._field, value, cls._rule)
        return super().__new__(cls, value)


class MeterScheme(StrEnum):
    """Which registry a meter identifier belongs to."""

    PRM = "prm"
    PCE = "pce"
    FLUKSO = "flukso"


class MeterId(_ValidatedStr):
    """Base of meter identifiers; ``scheme`` says which kind it is."""

    scheme: ClassVar[MeterScheme]


class Prm(MeterId):
    """Enedis PRM (a.k.a. PDL, ``usage_point_id``): exactly 14 digits."""

    _pattern = re.compile(r"\d{14}")
    _rule = "an Enedis PRM is exactly 14 digits"
    _field = "prm"
    scheme = MeterScheme.PRM


class Pce(MeterId):
    """GRDF PCE: 14 digits (residential) or ``GI`` + 6 digits (industrial)."""

    _pattern = re.compile(r"\d{14}|GI\d{6}")
    _rule = "a GRDF PCE is 14 digits or GI followed by 6 digits"
    _field = "pce"
    scheme = MeterScheme.PCE


class FluksoSensorId(MeterId):
    """Flukso sensor (or device) id: 32 lowercase hexadecimal characters."""

    _pattern = re.compile(r"[0-9a-f]{32}")
    _rule = "a Flukso sensor id is 32 lowercase hexadecimal characters"
    _field = "flukso_sensor_id"
    scheme = MeterScheme.FLUKSO


_METER_TYPES: dict[MeterScheme, type[MeterId]] = {
    MeterScheme.PRM: Prm,
    MeterScheme.PCE: Pce,
    MeterScheme.FLUKSO: FluksoSensorId,
}


def meter_id(scheme: MeterScheme | str, value: str) -> MeterId:
    """Builds the meter id of ``scheme`` from ``value`` (raises InvalidValueError)."""
    try:
        kind = _METER_TYPES[MeterScheme(scheme)]
    except ValueError as exc:
        raise InvalidValueError(
            "scheme", scheme, f"one of {[s.value for s in MeterScheme]}"
        ) from exc
    return kind(value)


class InseeCode(_ValidatedStr):
    """INSEE commune code: 5 characters (2A/2B for Corsica, 97x overseas)."""

    _pattern = re.compile(r"(\d{2}|2A|2B)\d{3}")
    _rule = "an INSEE commune code is 5 characters, e.g. 38151 or 2A004"
    _field = "commune_insee"


class IrisCode(_ValidatedStr):
    """IRIS neighbourhood code: the 5-character INSEE code followed by 4 digits."""

    _pattern = re.compile(r"(\d{2}|2A|2B)\d{3}\d{4}")
    _rule = "an IRIS code is the INSEE commune code followed by 4 digits (9 chars)"
    _field = "iris"

    @property
    def commune(self) -> InseeCode:
        """The commune the neighbourhood belongs to."""
        return InseeCode(self[:5])


class Idu(_ValidatedStr):
    """Cadastral parcel IDU: INSEE (5) + prefix (3 digits) + section (2) + number (4).

    The section is upper-case letters or digits, left-padded with ``0``
    (e.g. ``38151000AB0123``, ``3815100000A0012``… is not valid: 15 chars).
    """

    _pattern = re.compile(r"(\d{2}|2A|2B)\d{3}\d{3}[0-9A-Z]{2}\d{4}")
    _rule = (
        "an IDU is 14 characters: INSEE code (5), prefix (3 digits), "
        "section (2 upper-case letters or digits), number (4 digits)"
    )
    _field = "idu"

    @property
    def commune(self) -> InseeCode:
        """The commune the parcel lies in."""
        return InseeCode(self[:5])
