"""Data Connect payloads -> SEN1 domain types, and where a PRM's address puts it.

Pure: no HTTP, no Kafka, no SQL (an import contract keeps it so), so every rule of
the upstream's format is unit-tested without a network.
"""

from ingest_enedis.mapping.payloads import (
    Address,
    Contract,
    MappedWindow,
    covered_days,
    curve_readings,
    daily_readings,
    incomplete_days,
    max_power_readings,
    missing_days,
    parse_address,
    parse_contract,
    parse_step,
    parse_value,
    resolve_local_end,
    to_batch,
    to_rows,
)
from ingest_enedis.mapping.placement import Parcel, building_at, point_in_polygon
from ingest_enedis.streams import Stream

__all__ = [
    "Address",
    "Contract",
    "MappedWindow",
    "Parcel",
    "Stream",
    "building_at",
    "covered_days",
    "curve_readings",
    "daily_readings",
    "incomplete_days",
    "max_power_readings",
    "missing_days",
    "parse_address",
    "parse_contract",
    "parse_step",
    "parse_value",
    "point_in_polygon",
    "resolve_local_end",
    "to_batch",
    "to_rows",
]
