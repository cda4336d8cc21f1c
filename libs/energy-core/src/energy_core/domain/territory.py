"""Territory entities: neighbourhoods (IRIS), cadastral parcels, buildings, meters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from energy_core.domain.ids import Idu, InseeCode, IrisCode, MeterId, MeterScheme
from energy_core.domain.readings import Direction, Energy
from energy_core.errors import InvalidValueError


class BuildingType(StrEnum):
    """Use of a building, as cities classify them."""

    RESIDENTIAL = "residential"
    PUBLIC = "public"
    TERTIARY = "tertiary"


class Sector(StrEnum):
    """Sector of a delivery point for the secrecy rules (code de l'énergie D111-52)."""

    RESIDENTIAL = "residential"
    PROFESSIONAL = "professional"


def validate_polygon(
    geometry: dict[str, Any], field: str = "geometry"
) -> dict[str, Any]:
    """Checks a GeoJSON Polygon or MultiPolygon (WGS84 lon/lat, closed rings)."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        polygons = coords
    else:
        raise InvalidValueError(field, kind, "a GeoJSON Polygon or MultiPolygon")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise InvalidValueError(field, polygon, "a polygon needs at least one ring")
        for ring in polygon:
            _validate_ring(ring, field)
    return geometry


def _validate_ring(ring: Any, field: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
        raise InvalidValueError(field, ring, "a ring is >= 4 positions, first == last")
    for position in ring:
        ok = isinstance(position, list | tuple) and len(position) >= 2
        if not ok or not all(
            isinstance(c, int | float) and math.isfinite(c) for c in position[:2]
        ):
            raise InvalidValueError(field, position, "a position is [lon, lat]")
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidValueError(field, position, "lon/lat out of WGS84 range")


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """An IRIS neighbourhood with the grid capacity used for congestion levels."""

    iris: IrisCode
    name: str
    capacity_kw: float
    geometry: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        IrisCode(self.iris)
        if not self.name.strip():
            raise InvalidValueError("name", self.name, "a neighbourhood needs a name")
        if not math.isfinite(self.capacity_kw) or self.capacity_kw <= 0:
            raise InvalidValueError("capacity_kw", self.capacity_kw, "must be > 0")
        if self.geometry is not None:
            validate_polygon(self.geometry)

    @property
    def commune(self) -> InseeCode:
        """The commune of the neighbourhood."""
        return IrisCode(self.iris).commune


@dataclass(frozen=True, slots=True)
class Parcel:
    """A cadastral parcel, identified by its 14-character IDU."""

    idu: Idu
    iris: IrisCode
    geometry: dict[str, Any]

    def __post_init__(self) -> None:
        Idu(self.idu)
        IrisCode(self.iris)
        validate_polygon(self.geometry)
        if Idu(self.idu).commune != IrisCode(self.iris).commune:
            raise InvalidValueError(
                "idu", self.idu, "parcel and IRIS differ in commune"
            )


@dataclass(frozen=True, slots=True)
class Building:
    """A building on a parcel, in a neighbourhood."""

    building_id: str
    address: str
    parcel: Idu
    iris: IrisCode
    surface_m2: float
    building_type: BuildingType

    def __post_init__(self) -> None:
        if not self.building_id or len(self.building_id) > 64:
            raise InvalidValueError("building_id", self.building_id, "1 to 64 chars")
        Idu(self.parcel)
        IrisCode(self.iris)
        BuildingType(self.building_type)
        if not math.isfinite(self.surface_m2) or self.surface_m2 <= 0:
            raise InvalidValueError("surface_m2", self.surface_m2, "must be > 0")


DELIVERY_POINT_SCHEMES = frozenset({MeterScheme.PRM, MeterScheme.PCE})
"""Schemes whose meters ARE delivery points (the utility's settlement points)."""


@dataclass(frozen=True, slots=True)
class MeterPlacement:
    """A meter and where it sits; ``building_id`` is None for an unplaced meter.

    A delivery point (PRM, PCE) is the unit of energy sums and of the secrecy rule
    (">= 10 delivery points"). Any other meter is a measuring DEVICE (a Flukso
    sensor today, P1/TIC readers later): ``delivery_point`` names the PRM or PCE it
    measures, so a home with a PRM and a FluksoMeter is one point, not two. A
    device measures readings in either direction (FLM03 ``pplus``/``pminus``, a PV
    sensor): ``direction`` is only the meter's nominal one, every reading carries
    its own, and all of them feed the point they measure. An unattached device
    (``delivery_point`` None) counts nowhere until an operator attaches it.
    """

    meter: MeterId
    energy: Energy
    direction: Direction
    sector: Sector
    building_id: str | None = None
    delivery_point: MeterId | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.meter, MeterId):
            raise InvalidValueError("meter", self.meter, "a validated meter id")
        Energy(self.energy)
        Direction(self.direction)
        Sector(self.sector)
        if self.delivery_point is None:
            return
        if self.is_delivery_point:
            raise InvalidValueError(
                "delivery_point", self.delivery_point, "a PRM/PCE is its own point"
            )
        if (
            not isinstance(self.delivery_point, MeterId)
            or self.delivery_point.scheme not in DELIVERY_POINT_SCHEMES
        ):
            raise InvalidValueError(
                "delivery_point", self.delivery_point, "a validated PRM or PCE"
            )

    @property
    def is_delivery_point(self) -> bool:
        """Whether the meter is a delivery point itself (PRM, PCE)."""
        return self.meter.scheme in DELIVERY_POINT_SCHEMES

    @property
    def point(self) -> MeterId | None:
        """The delivery point this meter's readings count for (None: nowhere)."""
        return self.meter if self.is_delivery_point else self.delivery_point
