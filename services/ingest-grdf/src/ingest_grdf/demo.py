"""The demo's declarations (``INGEST_GRDF_DECLARE_DEMO``, `make run` only).

In production a resident or a property manager starts a declaration from the
dashboard with their own identity. The demo has no one to type it, so at start
the service declares a right on each demo PCE with the identity its demo holder
would type: a resident's display name and e-mail, the commune for public
buildings, the building's SCI for tertiary ones (the same identities the demo
territory gives GRDF's emulator; the emulator's holders then accept).
"""

from __future__ import annotations

import re

from energy_core.domain.readings import Energy
from energy_core.domain.territory import BuildingType
from ingest_grdf.mapping import Holder

_POSTCODE = re.compile(r"\b(\d{5})\b")


def demo_holders() -> dict[str, Holder]:
    """PCE → the holder identity of the demo territory."""
    from energy_store import demo

    territory = demo.build()
    buildings = {b.building_id: b for b in territory.buildings}
    residents = {meter: r for r in territory.residents for meter in r.meters}
    out: dict[str, Holder] = {}
    for placement in territory.meters:
        if placement.energy is not Energy.GAS or placement.building_id is None:
            continue
        pce = str(placement.meter)
        building = buildings[placement.building_id]
        found = _POSTCODE.search(building.address)
        postcode = found.group(1) if found else "38130"
        if building.building_type is BuildingType.PUBLIC:
            out[pce] = Holder(
                None, "COMMUNE D'ECHIROLLES", "patrimoine@demo.sen1.invalid", postcode
            )
        elif building.building_type is BuildingType.TERTIARY:
            bid = building.building_id
            out[pce] = Holder(
                None, f"SCI {bid}", f"{bid.lower()}@demo.sen1.invalid", postcode
            )
        elif pce in residents:
            r = residents[pce]
            out[pce] = Holder(r.display_name, None, r.email, postcode)
    return out
