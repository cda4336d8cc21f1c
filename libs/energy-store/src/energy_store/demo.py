"""The demo territory: Échirolles (INSEE 38151), next to Grenoble.

Deterministic (seeded), so the emulators can derive the same meters: the Enedis
emulator serves the PRMs, the Flukso emulator runs the devices listed here. IRIS
codes and IDUs follow the real formats; street names are real Échirolles streets;
parcel numbers, polygons and capacities are illustrative.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from energy_core.domain.ids import FluksoSensorId, Idu, InseeCode, IrisCode, Pce, Prm
from energy_core.domain.readings import Direction, Energy
from energy_core.domain.territory import (
    Building,
    BuildingType,
    MeterPlacement,
    Neighbourhood,
    Parcel,
    Sector,
)

COMMUNE = InseeCode("38151")
COMMUNE_NAME = "Échirolles"
_ORIGIN = (5.7080, 45.1390)  # lon, lat of the south-west corner of the demo grid
_CELL = (0.0016, 0.0011)  # parcel size in degrees (about 125 m x 120 m)

_NEIGHBOURHOODS = [
    # iris, name, capacity (kW): Village Sud hosts the live Flukso homes, so its
    # capacity is small enough for their evening peak to show congestion levels.
    ("381510101", "Village Sud", 25.0),
    ("381510102", "La Luire", 420.0),
    ("381510201", "Essarts-Surieux", 480.0),
]
_STREETS = [
    "Avenue du 8 Mai 1945",
    "Rue de la Convention",
    "Cours Jean Jaurès",
    "Avenue des États Généraux",
    "Rue Normandie-Niémen",
    "Rue Paul Héroult",
    "Rue Charles Gounod",
    "Avenue de Grugliasco",
]
_SECTIONS = ["AB", "AC", "AD", "AE", "AH", "AK"]
PARCELS_PER_NEIGHBOURHOOD = 6
BUILDINGS_PER_PARCEL = 3  # 54 buildings


@dataclass(frozen=True, slots=True)
class FluksoSensor:
    """One sensor of a demo FluksoMeter; ``meter_id`` is the series it feeds."""

    sensor_id: FluksoSensorId
    direction: Direction
    phase: int | None  # 1..3 for per-phase sensors of a three-phase v3 meter
    meter_id: FluksoSensorId


@dataclass(frozen=True, slots=True)
class FluksoDevice:
    """A demo FluksoMeter in a home, with the behaviours its emulator plays."""

    device_id: FluksoSensorId
    building_id: str
    version: str  # "v2" or "v3"
    sensors: tuple[FluksoSensor, ...]
    pv_kwp: float = 0.0
    behaviours: frozenset[str] = frozenset()  # "counter_reset", "wifi_dropout", ...


@dataclass(frozen=True, slots=True)
class Resident:
    """A demo resident with the meters of their dwelling (consented for SEN1)."""

    display_name: str
    email: str
    meters: tuple[str, ...]


@dataclass
class DemoTerritory:
    """Everything the demo loads into the registry."""

    commune: InseeCode
    commune_name: str
    neighbourhoods: list[Neighbourhood] = field(default_factory=list)
    parcels: list[Parcel] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    meters: list[MeterPlacement] = field(default_factory=list)
    flukso_devices: list[FluksoDevice] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)

    @property
    def prms(self) -> list[Prm]:
        """Every electricity PRM of the demo (what the Enedis emulator serves)."""
        return [m.meter for m in self.meters if isinstance(m.meter, Prm)]


CONSENT_START = datetime(2025, 1, 1, tzinfo=UTC)
CONSENT_END = datetime(2027, 12, 31, tzinfo=UTC)
OCCUPANCY_START = datetime(2019, 1, 1, tzinfo=UTC)
"""Every demo resident has lived in their dwelling since before any history the
emulators serve, so the demo shows all of it (a new occupant would see less)."""


def _rect(lon: float, lat: float, dlon: float, dlat: float) -> dict[str, object]:
    ring = [
        [round(lon, 6), round(lat, 6)],
        [round(lon + dlon, 6), round(lat, 6)],
        [round(lon + dlon, 6), round(lat + dlat, 6)],
        [round(lon, 6), round(lat + dlat, 6)],
        [round(lon, 6), round(lat, 6)],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _hex_id(*parts: object) -> FluksoSensorId:
    return FluksoSensorId(hashlib.md5(":".join(map(str, parts)).encode()).hexdigest())  # noqa: S324 - ids, not security


def build(seed: int = 38151) -> DemoTerritory:
    """Builds the demo territory; same seed, same territory."""
    rng = random.Random(seed)
    demo = DemoTerritory(commune=COMMUNE, commune_name=COMMUNE_NAME)
    prm_counter = 0
    pce_counter = 0

    def next_prm() -> Prm:
        nonlocal prm_counter
        prm_counter += 1
        return Prm(f"2215{prm_counter:010d}")

    def next_pce() -> Pce:
        nonlocal pce_counter
        pce_counter += 1
        return Pce(f"2138{pce_counter:010d}")

    for n_index, (iris, name, capacity) in enumerate(_NEIGHBOURHOODS):
        n_lon = _ORIGIN[0] + n_index * 3 * _CELL[0]
        demo.neighbourhoods.append(
            Neighbourhood(
                iris=IrisCode(iris),
                name=name,
                capacity_kw=capacity,
                geometry=_rect(n_lon, _ORIGIN[1], 3 * _CELL[0], 2 * _CELL[1]),
            )
        )
        for p_index in range(PARCELS_PER_NEIGHBOURHOOD):
            col, row = p_index % 3, p_index // 3
            section = _SECTIONS[n_index * 2 + row]
            idu = Idu(f"{COMMUNE}000{section}{(p_index + 1) * 17 + n_index * 101:04d}")
            lon = n_lon + col * _CELL[0]
            lat = _ORIGIN[1] + row * _CELL[1]
            demo.parcels.append(
                Parcel(idu=idu, iris=IrisCode(iris), geometry=_rect(lon, lat, *_CELL))
            )
            for b_index in range(BUILDINGS_PER_PARCEL):
                number = len(demo.buildings) + 1
                kind = BuildingType.RESIDENTIAL
                if number % 13 == 0:
                    kind = BuildingType.PUBLIC
                elif number % 11 == 0:
                    kind = BuildingType.TERTIARY
                building = Building(
                    building_id=f"ECH-{number:03d}",
                    address=f"{2 * number + 1} {_STREETS[(n_index * 3 + b_index) % 8]}, "
                    f"38130 Échirolles",
                    parcel=idu,
                    iris=IrisCode(iris),
                    surface_m2=float(rng.choice([95, 120, 240, 480, 760, 1100])),
                    building_type=kind,
                )
                demo.buildings.append(building)
                _add_meters(demo, building, rng, next_prm, next_pce, n_index)
    return demo


def _add_meters(
    demo: DemoTerritory,
    building: Building,
    rng: random.Random,
    next_prm: Callable[[], Prm],
    next_pce: Callable[[], Pce],
    n_index: int,
) -> None:
    if building.building_type is not BuildingType.RESIDENTIAL:
        prm = next_prm()
        demo.meters.append(
            MeterPlacement(
                prm,
                Energy.ELECTRICITY,
                Direction.CONSUMPTION,
                Sector.PROFESSIONAL,
                building.building_id,
            )
        )
        demo.meters.append(
            MeterPlacement(
                next_pce(),
                Energy.GAS,
                Direction.CONSUMPTION,
                Sector.PROFESSIONAL,
                building.building_id,
            )
        )
        return
    # Village Sud is houses (one dwelling each, some with a FluksoMeter);
    # the other neighbourhoods are blocks of flats.
    dwellings = 1 if n_index == 0 else rng.randint(3, 8)
    for _ in range(dwellings):
        meters: list[str] = []
        prm = next_prm()
        demo.meters.append(
            MeterPlacement(
                prm,
                Energy.ELECTRICITY,
                Direction.CONSUMPTION,
                Sector.RESIDENTIAL,
                building.building_id,
            )
        )
        meters.append(str(prm))
        if rng.random() < 0.3:
            pce = next_pce()
            demo.meters.append(
                MeterPlacement(
                    pce,
                    Energy.GAS,
                    Direction.CONSUMPTION,
                    Sector.RESIDENTIAL,
                    building.building_id,
                )
            )
            meters.append(str(pce))
        if n_index == 0:
            meters.extend(_add_flukso(demo, building, prm))
        number = len(demo.residents) + 1
        demo.residents.append(
            Resident(
                display_name=f"Résident {number:03d}",
                email=f"resident{number:03d}@demo.sen1.invalid",
                meters=tuple(meters),
            )
        )


def _add_flukso(demo: DemoTerritory, building: Building, prm: Prm) -> list[str]:
    """Adds a FluksoMeter to a Village Sud house; returns the meter ids it feeds.

    Every sensor series is a measuring device attached to the house's PRM: the
    house stays ONE delivery point, whichever of its meters report (the PV sensor
    feeds the point's production, the main or phase sensors its consumption).
    """
    index = len(demo.flukso_devices)
    device = _hex_id("demo-flukso-device", index)
    behaviours: set[str] = set()
    pv_kwp = 0.0
    version = "v2"
    sensors: list[FluksoSensor] = []
    if index == 0:
        # A three-phase v3 home: per-phase sensors, summed into the device series.
        version = "v3"
        for phase in (1, 2, 3):
            sensors.append(
                FluksoSensor(
                    _hex_id(device, "phase", phase),
                    Direction.CONSUMPTION,
                    phase,
                    device,
                )
            )
    else:
        main = _hex_id(device, "main")
        sensors.append(FluksoSensor(main, Direction.CONSUMPTION, None, main))
    if index % 3 == 1:
        pv = _hex_id(device, "pv")
        pv_kwp = 3.0
        sensors.append(FluksoSensor(pv, Direction.PRODUCTION, None, pv))
    if index == 2:
        behaviours.add("counter_reset")
    if index == 4:
        behaviours.add("wifi_dropout")
    demo.flukso_devices.append(
        FluksoDevice(
            device,
            building.building_id,
            version,
            tuple(sensors),
            pv_kwp,
            frozenset(behaviours),
        )
    )
    meter_ids: list[str] = []
    for sensor in sensors:
        if sensor.meter_id not in meter_ids:
            meter_ids.append(sensor.meter_id)
            demo.meters.append(
                MeterPlacement(
                    sensor.meter_id,
                    Energy.ELECTRICITY,
                    sensor.direction,
                    Sector.RESIDENTIAL,
                    building.building_id,
                    delivery_point=prm,
                )
            )
    return meter_ids
