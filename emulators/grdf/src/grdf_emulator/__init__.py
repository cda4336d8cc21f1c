"""GRDF ADICT emulator: sandbox PCEs plus the demo territory's gas meters."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from grdf_emulator import profiles
from grdf_emulator.app import EmulatorState, build_app
from grdf_emulator.profiles import SANDBOX, Address, GasMeter, Holder
from grdf_emulator.settings import EmulatorSettings

__all__ = [
    "SANDBOX",
    "EmulatorState",
    "GasMeter",
    "build_app",
    "build_state",
    "demo_meters",
]

_ADDRESS = re.compile(r"(?P<num>\d+) (?P<street>.+), (?P<cp>\d{5}) (?P<city>.+)")


def demo_meters() -> list[GasMeter]:
    """The demo territory's PCEs, their holders being the demo residents.

    A resident's PCE is held in their name and e-mail (``display_name``,
    ``email``), so a declaration made with the resident's identity is the one
    the holder accepts; professional buildings are held by the commune (public)
    or a company (tertiary).
    """
    from energy_core.domain.readings import Energy
    from energy_core.domain.territory import BuildingType
    from energy_store import demo  # the demo territory is the emulator's customers

    territory = demo.build()
    buildings = {b.building_id: b for b in territory.buildings}
    dwellings = Counter(
        m.building_id for m in territory.meters if m.energy is Energy.ELECTRICITY
    )
    residents = {meter: r for r in territory.residents for meter in r.meters}
    out = []
    for placement in territory.meters:
        if placement.energy is not Energy.GAS or placement.building_id is None:
            continue
        pce = str(placement.meter)
        building = buildings[placement.building_id]
        match = _ADDRESS.fullmatch(building.address)
        assert match is not None, building.address  # noqa: S101 - demo.py's own format
        address = Address(
            match["num"], match["street"].upper(), match["cp"], "ECHIROLLES"
        )
        resident = residents.get(pce)
        usage: profiles.Usage
        if building.building_type is BuildingType.PUBLIC:
            usage, surface = "public", building.surface_m2
            holder = Holder(
                None,
                "COMMUNE D'ECHIROLLES",
                "patrimoine@demo.sen1.invalid",
                match["cp"],
            )
        elif building.building_type is BuildingType.TERTIARY:
            usage, surface = "tertiary", building.surface_m2
            holder = Holder(
                None,
                f"SCI {building.building_id}",
                f"{building.building_id.lower()}@demo.sen1.invalid",
                match["cp"],
            )
        else:
            count = dwellings[building.building_id]
            house = count == 1
            usage = "house" if house else "flat"
            per_dwelling = building.surface_m2 / count
            surface = (
                min(max(per_dwelling, 70.0), 180.0)
                if house
                else min(max(per_dwelling, 35.0), 120.0)
            )
            if resident is None:
                raise ValueError(f"demo PCE without a resident: {pce}")
            holder = Holder(resident.display_name, None, resident.email, match["cp"])
        out.append(profiles.demo_meter(pce, holder, address, usage, surface))
    return out


def build_state(
    settings: EmulatorSettings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> EmulatorState:
    """Sandbox PCEs (rights in their sandbox states), the demo PCEs (no right
    until declared, unless ``demo_rights_active``), then ``extra_pces``."""
    meters = list(SANDBOX)
    demo = demo_meters() if settings.with_demo else []
    holder = Holder("SYNTHETIQUE", None, "bench@demo.sen1.invalid", "38130")
    address = Address("1", "RUE DU BANC D'ESSAI", "38130", "ECHIROLLES")
    extra = [
        profiles.demo_meter(profiles.synthetic_pce(i), holder, address, "flat", 60.0)
        for i in range(settings.extra_pces)
    ]
    state = EmulatorState(settings, meters + demo + extra, clock)
    for meter in SANDBOX:
        state.grant(meter, settings.client_id, meter.sandbox_state or "Active")
    for meter in extra + (demo if settings.demo_rights_active else []):
        state.grant(meter, settings.client_id)
    return state
