"""ADICT payloads → ``energy_core.domain`` (pure: no I/O, no clock)."""

from ingest_grdf.mapping.contract import GasContract, map_contract
from ingest_grdf.mapping.informatives import (
    Refused,
    gas_day_bounds,
    map_informatives,
    map_published,
)
from ingest_grdf.mapping.rights import (
    PERIMS,
    AccessRight,
    Holder,
    RightState,
    declaration_body,
    map_right,
    proof_of,
)

__all__ = [
    "PERIMS",
    "AccessRight",
    "GasContract",
    "Holder",
    "Refused",
    "RightState",
    "declaration_body",
    "gas_day_bounds",
    "map_contract",
    "map_informatives",
    "map_published",
    "map_right",
    "proof_of",
]
