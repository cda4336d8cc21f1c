"""Where a PRM's address puts it: the only building of the parcel it falls in.

A PRM whose address falls inside a parcel of the territory that carries exactly
one building is attached to it. Otherwise it stays *unplaced* for an operator to
resolve (a parcel with several buildings is ambiguous: guessing would put a
home's data in a neighbour's rollup).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True, slots=True)
class Parcel:
    """A parcel of one commune: its outer ring (GeoJSON lon, lat) and buildings."""

    ring: Sequence[Sequence[float]]
    buildings: Sequence[str]


def point_in_polygon(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    """Ray casting on one GeoJSON ring (lon, lat)."""
    inside = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def building_at(parcels: Iterable[Parcel], lat: float, lon: float) -> str | None:
    """The only building of the first parcel containing (lat, lon), if there is one."""
    for parcel in parcels:
        if parcel.ring and point_in_polygon(lon, lat, parcel.ring):
            return str(parcel.buildings[0]) if len(parcel.buildings) == 1 else None
    return None
