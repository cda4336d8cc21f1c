"""The demo territory: Échirolles (INSEE 38151), next to Grenoble.

Deterministic (seeded), so the emulators can derive the same meters: the Enedis
emulator serves the PRMs (with a load profile from ``homes``), the Flukso emulator
runs the devices listed here. The 15 IRIS are Échirolles' real ones (IGN-INSEE
CONTOURS-IRIS 2020, Licence Ouverte 2.0, in ``data/``); street names are real
Échirolles streets; parcels (valid IDUs), buildings, meters and capacities are
generated inside the real IRIS, since no cadastre can be shipped.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

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
FLUKSO_IRIS = IrisCode("381510101")
"""Ouest Nord (a housing IRIS): the live FluksoMeter houses live there."""
FLUKSO_CAPACITY_KW = 25.0
"""Small enough for the Flukso houses' evening peak to show congestion levels."""

_DATA = resources.files("energy_store") / "data"
_M_PER_DEG_LAT = 111_130.0
_M_PER_DEG_LON = 78_600.0  # at 45.14° N
# Large housing estates of the 1960s-70s (more flats per building).
_ESTATES = {
    "381510203",
    "381510301",
    "381510302",
    "381510303",
    "381510305",
    "381510306",
}
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
    """A demo resident with the meters of their dwelling, or the manager of
    professional buildings with theirs (consented for SEN1)."""

    display_name: str
    email: str
    meters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoHome:
    """The equipment and habits behind one demo PRM's load (its emulator profile).

    ``kind``: home, tertiary or public; ``heating``: electric, gas (on its PCE) or
    collective (district heating, nothing on the PRM); ``hot_water``: electric
    (an off-peak tank) or other; ``anomaly``: None, night_baseload (something left
    on at night), broken_heater (an electric heater stuck on) or weekend_baseload
    (a professional building that does not switch off on weekends).
    """

    kind: str
    heating: str
    hot_water: str
    ev: bool
    pv_kwp: float
    surface_m2: float
    scale: float
    anomaly: str | None = None


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
    homes: dict[str, DemoHome] = field(default_factory=dict)
    """What stands behind each electricity PRM (emulator profiles)."""

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


def iris_features() -> list[dict[str, Any]]:
    """The 15 real IRIS of Échirolles (IGN-INSEE CONTOURS-IRIS 2020, see data/README.md)."""
    text = (_DATA / "iris_38151_2020.geojson").read_text(encoding="utf-8")
    features: list[dict[str, Any]] = json.loads(text)["features"]
    return sorted(features, key=lambda f: str(f["properties"]["code_iris"]))


def inside(lon: float, lat: float, ring: list[list[float]]) -> bool:
    """Even-odd ray casting: is the point inside the ring (lon/lat)?

    Plain Python on purpose: the demo needs nothing more than this to place
    generated parcels inside the real IRIS, and no geometry library is locked.
    """
    result = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            result = not result
        j = i
    return result


def _parcel_cells(
    ring: list[list[float]], target: int
) -> list[tuple[float, float, float, float]]:
    """``target`` square cells (lon, lat, dlon, dlat) wholly inside the ring.

    The cell side starts from the ring's area over the target and shrinks until
    enough cells fit (concave IRIS lose cells at their edges); the cells kept are
    spread over the polygon (every k-th), so parcels cover the whole IRIS.
    """
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    area = _ring_area_m2(ring)
    side = math.sqrt(area / target)
    while True:
        dlon, dlat = side / _M_PER_DEG_LON, side / _M_PER_DEG_LAT
        cells = []
        lat = min(lats)
        while lat + dlat <= max(lats):
            lon = min(lons)
            while lon + dlon <= max(lons):
                corners = [(lon, lat), (lon + dlon, lat), (lon, lat + dlat),
                           (lon + dlon, lat + dlat), (lon + dlon / 2, lat + dlat / 2)]  # fmt: skip
                if all(inside(x, y, ring) for x, y in corners):
                    cells.append((lon, lat, dlon, dlat))
                lon += dlon
            lat += dlat
        if len(cells) >= target:
            step = len(cells) / target
            return [cells[int(i * step)] for i in range(target)]
        side *= 0.85


def _ring_area_m2(ring: list[list[float]]) -> float:
    twice = sum(
        a[0] * _M_PER_DEG_LON * b[1] * _M_PER_DEG_LAT
        - b[0] * _M_PER_DEG_LON * a[1] * _M_PER_DEG_LAT
        for a, b in itertools.pairwise(ring)
    )
    return abs(twice) / 2


def _capacity_kw(points: int, professional: int) -> float:
    """Believable grid capacity: ~2 kW of diversified winter peak per dwelling and
    ~25 kW per professional building, with a 50 % margin, rounded up to 10 kW."""
    peak = 2.0 * (points - professional) + 25.0 * professional
    return float(math.ceil(1.5 * peak / 10) * 10)


def build(seed: int = 38151) -> DemoTerritory:
    """Builds the demo territory; same seed, same territory.

    Neighbourhoods are Échirolles' real 15 IRIS (contours, names, types); parcels
    and buildings are GENERATED inside them (no cadastre can be shipped): square
    parcels on a grid clipped to each IRIS, with valid 14-character IDUs. Housing
    IRIS get homes (flats in the large estates), activity IRIS mostly tertiary
    and public buildings; Ouest Nord hosts the live FluksoMeter houses.
    """
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

    for n_index, feature in enumerate(iris_features()):
        props = feature["properties"]
        iris = IrisCode(str(props["code_iris"]))
        ring: list[list[float]] = feature["geometry"]["coordinates"][0]
        activity = props["typ_iris"] == "A"
        flukso = iris == FLUKSO_IRIS
        if flukso:
            parcels, per_parcel = 6, 3
        elif activity:
            parcels, per_parcel = 6, 2
        else:
            parcels = min(9, max(5, round(float(props["area_m2"]) / 100_000)))
            per_parcel = 2
        section = f"A{chr(ord('B') + n_index)}"
        first_meter = len(demo.meters)
        professional = 0
        for p_index, (lon, lat, dlon, dlat) in enumerate(_parcel_cells(ring, parcels)):
            idu = Idu(f"{COMMUNE}000{section}{(p_index + 1) * 17:04d}")
            # a parcel is 80 % of its cell: the rest is streets
            demo.parcels.append(
                Parcel(
                    idu=idu,
                    iris=iris,
                    geometry=_rect(
                        lon + dlon * 0.1, lat + dlat * 0.1, dlon * 0.8, dlat * 0.8
                    ),
                )
            )
            for b_index in range(per_parcel):
                number = len(demo.buildings) + 1
                local = p_index * per_parcel + b_index
                kind = BuildingType.RESIDENTIAL
                if activity:
                    kind = (
                        BuildingType.PUBLIC if local % 4 == 1 else BuildingType.TERTIARY
                    )
                elif flukso:
                    kind = {10: BuildingType.TERTIARY, 12: BuildingType.PUBLIC}.get(
                        local, kind
                    )
                elif local % 9 == 4:
                    kind = BuildingType.PUBLIC if n_index % 2 else BuildingType.TERTIARY
                if kind is not BuildingType.RESIDENTIAL:
                    professional += 1
                    surface = float(rng.choice([420, 650, 900, 1400, 2200, 3100]))
                elif flukso:
                    surface = float(rng.choice([85, 95, 110, 120, 140]))
                else:
                    surface = float(rng.choice([480, 640, 760, 900, 1100, 1500]))
                building = Building(
                    building_id=f"ECH-{number:03d}",
                    address=f"{2 * number + 1} {_STREETS[(n_index * 3 + b_index) % 8]}, "
                    f"38130 Échirolles",
                    parcel=idu,
                    iris=iris,
                    surface_m2=surface,
                    building_type=kind,
                )
                demo.buildings.append(building)
                if flukso and kind is BuildingType.RESIDENTIAL:
                    dwellings = 1
                elif kind is not BuildingType.RESIDENTIAL:
                    dwellings = 0
                elif str(iris) in _ESTATES:
                    dwellings = rng.randint(4, 7)
                else:
                    dwellings = rng.randint(1, 4)
                _add_meters(demo, building, rng, next_prm, next_pce, dwellings, flukso)
        points = sum(
            1
            for m in demo.meters[first_meter:]
            if m.is_delivery_point and m.energy is Energy.ELECTRICITY
        )
        demo.neighbourhoods.append(
            Neighbourhood(
                iris=iris,
                name=str(props["nom_iris"]),
                capacity_kw=FLUKSO_CAPACITY_KW
                if flukso
                else _capacity_kw(points, professional),
                geometry={"type": "Polygon", "coordinates": [ring]},
            )
        )
    return demo


def _add_meters(
    demo: DemoTerritory,
    building: Building,
    rng: random.Random,
    next_prm: Callable[[], Prm],
    next_pce: Callable[[], Pce],
    dwellings: int,
    flukso: bool,
) -> None:
    if building.building_type is not BuildingType.RESIDENTIAL:
        consented: list[str] = []
        prm = next_prm()
        consented.append(str(prm))
        demo.meters.append(
            MeterPlacement(
                prm,
                Energy.ELECTRICITY,
                Direction.CONSUMPTION,
                Sector.PROFESSIONAL,
                building.building_id,
            )
        )
        gas = rng.random() < 0.7
        demo.homes[str(prm)] = _professional_home(building, rng, gas)
        if gas:
            pce = next_pce()
            consented.append(str(pce))
            demo.meters.append(
                MeterPlacement(
                    pce,
                    Energy.GAS,
                    Direction.CONSUMPTION,
                    Sector.PROFESSIONAL,
                    building.building_id,
                )
            )
        _add_manager(demo, building, consented)
        return
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
        gas = rng.random() < 0.3
        if gas:
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
        pv_kwp = 0.0
        if flukso:
            meters.extend(_add_flukso(demo, building, prm))
            pv_kwp = demo.flukso_devices[-1].pv_kwp
        demo.homes[str(prm)] = _residential_home(
            building, rng, gas=gas, house=dwellings == 1, pv_kwp=pv_kwp,
            surface=building.surface_m2 / dwellings, index=len(demo.homes), flukso=flukso,
        )  # fmt: skip
        number = sum(1 for r in demo.residents if r.email.startswith("resident")) + 1
        demo.residents.append(
            Resident(
                display_name=f"Résident {number:03d}",
                email=f"resident{number:03d}@demo.sen1.invalid",
                meters=tuple(meters),
            )
        )


def _add_manager(demo: DemoTerritory, building: Building, meters: list[str]) -> None:
    """The one who consents for a professional building's meters: the commune's
    property manager for every public building (a multi-site portfolio), the
    owning company (the GRDF emulator's holder) for a tertiary one."""
    if building.building_type is BuildingType.PUBLIC:
        name, email = "Patrimoine, Ville d'Échirolles", "patrimoine@demo.sen1.invalid"
    else:
        name = f"SCI {building.building_id}"
        email = f"{building.building_id.lower()}@demo.sen1.invalid"
    for i, resident in enumerate(demo.residents):
        if resident.email == email:
            demo.residents[i] = Resident(name, email, (*resident.meters, *meters))
            return
    demo.residents.append(Resident(name, email, tuple(meters)))


def _residential_home(
    building: Building,
    rng: random.Random,
    *,
    gas: bool,
    house: bool,
    pv_kwp: float,
    surface: float,
    index: int,
    flukso: bool,
) -> DemoHome:
    """What a home is equipped with (drives its Enedis emulator profile).

    Shares are those of French housing (INSEE/ADEME): about a third of homes heat
    with electricity, flats of the large estates mostly on the district heating
    (nothing on their PRM), a gas PCE heats its home; an electric hot-water tank
    in most non-gas homes; a few EVs; PV on some houses.
    """
    if gas:
        heating = "gas"
    elif not house and rng.random() < 0.55:
        heating = "collective"
    else:
        heating = "electric"
    anomaly = None
    if index % 41 == 17:
        anomaly = "night_baseload"
    elif index % 53 == 29 and heating == "electric":
        anomaly = "broken_heater"
    return DemoHome(
        kind="home",
        heating=heating,
        hot_water="electric" if heating != "gas" and rng.random() < 0.75 else "other",
        ev=rng.random() < (0.15 if house else 0.04),
        pv_kwp=pv_kwp
        or (
            round(rng.uniform(2.5, 6), 1)
            if house and not flukso and rng.random() < 0.2
            else 0.0
        ),
        surface_m2=round(min(max(surface, 35.0), 160.0)),
        scale=round(rng.uniform(0.6, 1.5), 2),
        anomaly=anomaly,
    )


def _professional_home(building: Building, rng: random.Random, gas: bool) -> DemoHome:
    """Offices, shops, schools: working hours, weekends off (or not: an anomaly)."""
    number = int(building.building_id.removeprefix("ECH-"))
    return DemoHome(
        kind=str(building.building_type),
        heating="gas" if gas else "electric",
        hot_water="other",
        ev=False,
        pv_kwp=0.0,
        surface_m2=round(building.surface_m2),
        scale=round(rng.uniform(0.7, 1.3), 2),
        anomaly="weekend_baseload" if number % 17 == 5 else None,
    )


def _add_flukso(demo: DemoTerritory, building: Building, prm: Prm) -> list[str]:
    """Adds a FluksoMeter to an Ouest Nord house; returns the meter ids it feeds.

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
    if index and (index % 3 != 0 or index % 5 == 0):
        # Most houses (11 of the 16; not the three-phase one) have PV with a production sensor, so
        # that Ouest Nord has enough PV homes measured on both sides (gross
        # production here, injection from the PRM) for its self-consumption to
        # pass the secrecy threshold on the city page.
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
