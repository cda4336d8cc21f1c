"""Units of readings and their conversion to one canonical unit per dimension."""

from __future__ import annotations

from enum import StrEnum

from energy_core.errors import InvalidValueError


class Dimension(StrEnum):
    """What a unit measures."""

    ENERGY = "energy"
    POWER = "power"
    APPARENT_POWER = "apparent_power"
    VOLUME = "volume"


class Unit(StrEnum):
    """Units accepted on the wire. Values are the symbols upstreams use."""

    WH = "Wh"
    KWH = "kWh"
    W = "W"
    KW = "kW"
    VA = "VA"
    KVA = "kVA"
    M3 = "m3"
    L = "L"

    @classmethod
    def lookup(cls, symbol: object) -> Unit | None:
        """The unit an upstream symbol names (``m³`` and case variants), or None.

        The one reading of unit symbols: ingest mappings call it (or :meth:`parse`)
        rather than keeping their own symbol tables.
        """
        if isinstance(symbol, str) and symbol in _BY_SYMBOL:  # the hot path: exact
            return _BY_SYMBOL[symbol]
        cleaned = symbol.strip().replace("³", "3") if isinstance(symbol, str) else ""
        for unit in cls:
            if cleaned == unit.value or cleaned.lower() == unit.value.lower():
                return unit
        return None

    @classmethod
    def parse(cls, symbol: str, *, field: str = "unit") -> Unit:
        """Parses an upstream unit symbol; refuses an unknown one."""
        unit = cls.lookup(symbol)
        if unit is None:
            raise InvalidValueError(field, symbol, f"unknown unit; one of {_SYMBOLS}")
        return unit

    @property
    def dimension(self) -> Dimension:
        """The dimension this unit measures."""
        return _CANONICAL[self][0]

    @property
    def canonical(self) -> Unit:
        """The canonical unit of this dimension: Wh, W, VA or m3."""
        return _CANONICAL[self][1]

    def to_canonical(self, value: float) -> float:
        """Converts ``value`` in this unit to the canonical unit of its dimension."""
        return value * _CANONICAL[self][2]


_SYMBOLS = [u.value for u in Unit]
_BY_SYMBOL = {u.value: u for u in Unit}

_CANONICAL: dict[Unit, tuple[Dimension, Unit, float]] = {
    Unit.WH: (Dimension.ENERGY, Unit.WH, 1.0),
    Unit.KWH: (Dimension.ENERGY, Unit.WH, 1000.0),
    Unit.W: (Dimension.POWER, Unit.W, 1.0),
    Unit.KW: (Dimension.POWER, Unit.W, 1000.0),
    Unit.VA: (Dimension.APPARENT_POWER, Unit.VA, 1.0),
    Unit.KVA: (Dimension.APPARENT_POWER, Unit.VA, 1000.0),
    Unit.M3: (Dimension.VOLUME, Unit.M3, 1.0),
    Unit.L: (Dimension.VOLUME, Unit.M3, 0.001),
}
