"""The points the emulator knows: SGE 26.1 homologation PRMs and the demo's sites.

Why both: a client's homologation script must run unchanged (same PRMs, same
refusals), and the demo's public and professional buildings must receive
believable data. A PRM outside the catalogue is SGT401 "point inexistant".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from energy_core.domain.readings import Energy
from energy_core.domain.territory import BuildingType, Sector

Profile = str  # "school" | "gym" | "office" | "home"

ADP_NOT_FOUND = "99999999999999"
"""ADP-NR1: the catalogue's non-existent point."""
AHC_C5 = "25162373298976"
"""AHC-NR1: without ``autorisationClient`` this point answers SGT4G2."""
ASS_SERVICE_ID = "47761068"
"""ASS-R1: the subscription the homologation script stops."""


@dataclass(frozen=True, slots=True)
class Point:
    """One delivery point and the facts the services answer with."""

    prm: str
    segment: str  # "C5" or "C4" (C1-C4 in the contract's words)
    profile: Profile
    street: str
    postcode: str
    insee: str
    commune: str
    holder: str
    siret: str | None = None
    category: str = "PRO"  # PRO | RES
    subscribed_kva: int = 36
    meter_serial: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def c5(self) -> bool:
        return self.segment == "C5"

    @property
    def tension(self) -> str:
        return "BTINF" if self.c5 else "BTSUP"

    @property
    def tariff(self) -> str:
        return "BTINFCU4" if self.c5 else "BTSUPCU4"

    @property
    def offpeak(self) -> str:
        """The off-peak hours SGE writes on a C5 meter (one of the usual
        8-hour ranges, picked by the PRM so that it is stable)."""
        ranges = ("HC (22H30-6H30)", "HC (23H00-7H00)", "HC (2H00-7H00;14H00-17H00)")
        return ranges[int(hashlib.sha256(self.prm.encode()).hexdigest(), 16) % 3]


def _serial(prm: str) -> str:
    return "0" + hashlib.sha256(prm.encode()).hexdigest()[:11].upper()


def _point(prm: str, segment: str, profile: Profile, **kw: object) -> Point:
    defaults: dict[str, object] = {
        "street": "1 RUE DE LA MER",
        "postcode": "84160",
        "insee": "84042",
        "commune": "CUCURON",
        "holder": "TEST",
        "meter_serial": _serial(prm),
        "subscribed_kva": 36 if segment == "C5" else 132,
    }
    defaults.update(kw)
    return Point(prm=prm, segment=segment, profile=profile, **defaults)  # type: ignore[arg-type]


def homologation_points() -> list[Point]:
    """The 26.1 catalogue (plus the 22.1-23.2 CMD2 ones and the anonymised SGET samples)."""
    c4 = [
        "98800004847471",
        "98800000396971",
        "98800001144455",
        "98800000000246",
        "98800003605600",
        "98800004935121",
        "98800001544168",
        "98800004938924",
        "98800006694381",
        "98800001220186",
        "98800005144497",
        "30001610071843",
        "30001642617347",
    ]
    c5 = [
        "25946599093143",
        AHC_C5,
        "25884515170669",
        "24380318190106",
        "25855571545617",
        "24377424002398",
        "25852098337945",
        "25150217034354",
        "25825036170379",
        "25999131613803",
        "50086054270348",
        "25262662681289",
        "25957452924301",
        "24551519514005",
        "25478147557460",
        "09111642617347",
    ]
    points = [_point(p, "C4", "office", siret="12345678900011") for p in c4]
    points += [_point(p, "C5", "office", siret="12345678900029") for p in c5]
    # RP-R1: residential BTINF points of Sète (34650/34231).
    points += [
        _point(
            f"2511000000{i:04d}",
            "C5",
            "home",
            street=f"{i + 1} RUE DU PORT",
            postcode="34650",
            insee="34231",
            commune="SETE",
            holder=f"DUPONT {i}",
            category="RES",
            subscribed_kva=6,
        )
        for i in range(5)
    ]
    # RP-NR1: more than 200 residential points in 84042, so that searching by
    # category and commune alone is refused with SGT4F8.
    points += [
        _point(
            f"2512000000{i:04d}",
            "C5",
            "home",
            street=f"{i + 2} CHEMIN DES VIGNES",
            holder=f"MARTIN {i}",
            category="RES",
            subscribed_kva=9,
        )
        for i in range(205)
    ]
    return points


def demo_points() -> list[Point]:
    """The professional PRMs of the demo's public and tertiary buildings.

    Large buildings (≥ 760 m²) are C4 (over 36 kVA), the rest C5. Public
    buildings alternate between school and gym by their id; tertiary ones are
    offices. SIRETs are invented but stable (14 digits, per building).
    """
    from energy_store import demo

    territory = demo.build()
    buildings = {b.building_id: b for b in territory.buildings}
    points: list[Point] = []
    for placement in territory.meters:
        prm = str(placement.meter)
        if (
            placement.sector is not Sector.PROFESSIONAL
            or placement.energy is not Energy.ELECTRICITY
        ):
            continue
        if not (prm.isdigit() and len(prm) == 14) or placement.building_id is None:
            continue
        building = buildings[placement.building_id]
        number = int(building.building_id.split("-")[1])
        if building.building_type is BuildingType.PUBLIC:
            profile: Profile = "school" if number % 2 else "gym"
            holder = "COMMUNE D ECHIROLLES"
            siret = "21380151000017"
        else:
            profile = "office"
            holder = f"SOCIETE ECH {number:03d}"
            siret = f"8{number:03d}00000{number:05d}"[:14]
        segment = "C4" if (building.surface_m2 or 0) >= 760 else "C5"
        number_street, _, _rest = building.address.partition(",")
        points.append(
            _point(
                prm,
                segment,
                profile,
                street=number_street.upper(),
                postcode="38130",
                insee="38151",
                commune="ECHIROLLES",
                holder=holder,
                siret=siret,
                subscribed_kva=36 if segment == "C5" else 144,
                tags=frozenset({"demo", building.building_id}),
            )
        )
    return points


class Catalogue:
    """Points by PRM, plus synthetic ones on demand (benchmarks)."""

    def __init__(self, points: list[Point]) -> None:
        self._points = {p.prm: p for p in points}

    def get(self, prm: str) -> Point | None:
        return self._points.get(prm)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._points.values())

    def __len__(self) -> int:
        return len(self._points)

    def add(self, point: Point) -> None:
        self._points[point.prm] = point


def build_catalogue(with_demo: bool = True) -> Catalogue:
    points = homologation_points()
    if with_demo:
        points += demo_points()
    return Catalogue(points)
