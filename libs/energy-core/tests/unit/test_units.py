"""One reading of unit symbols: lookup (None when unknown) and parse (refuses)."""

import pytest

from energy_core.domain import Dimension, Unit
from energy_core.errors import InvalidValueError


def test_lookup_reads_case_variants_and_m3() -> None:
    assert Unit.lookup("kwh") is Unit.KWH
    assert Unit.lookup(" m³ ") is Unit.M3
    assert Unit.lookup("VAR") is None
    assert Unit.lookup(None) is None
    assert Unit.parse("KW") is Unit.KW
    with pytest.raises(InvalidValueError, match="unit"):
        Unit.parse("VAR")


def test_each_dimension_has_one_canonical_unit() -> None:
    canonical = {u.dimension: u.canonical for u in Unit}
    assert canonical == {
        Dimension.ENERGY: Unit.WH,
        Dimension.POWER: Unit.W,
        Dimension.APPARENT_POWER: Unit.VA,
        Dimension.VOLUME: Unit.M3,
    }
    assert Unit.L.to_canonical(1500) == pytest.approx(1.5)
