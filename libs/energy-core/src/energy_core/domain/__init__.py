"""Pure domain types: standard library only, no I/O, no frameworks."""

from energy_core.domain.ids import (
    FluksoSensorId,
    Idu,
    InseeCode,
    IrisCode,
    MeterId,
    MeterScheme,
    Pce,
    Prm,
    meter_id,
)
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Period,
    Quality,
    Reading,
    ReadingBatch,
    SeriesKey,
    Source,
    Stamp,
)
from energy_core.domain.territory import (
    Building,
    BuildingType,
    MeterPlacement,
    Neighbourhood,
    Parcel,
    Sector,
)
from energy_core.domain.time import PARIS
from energy_core.domain.units import Dimension, Unit

__all__ = [
    "PARIS",
    "Building",
    "BuildingType",
    "Dimension",
    "Direction",
    "Energy",
    "FluksoSensorId",
    "Idu",
    "InseeCode",
    "IrisCode",
    "Kind",
    "MeterId",
    "MeterPlacement",
    "MeterScheme",
    "Neighbourhood",
    "Parcel",
    "Pce",
    "Period",
    "Prm",
    "Quality",
    "Reading",
    "ReadingBatch",
    "Sector",
    "SeriesKey",
    "Source",
    "Stamp",
    "Unit",
    "meter_id",
]
