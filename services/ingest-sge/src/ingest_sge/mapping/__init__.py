"""SGE payloads -> ``energy_core.domain`` (pure: streams in, batches out, no I/O)."""

from ingest_sge.mapping.flux import FluxStats, Parsed, Rejected, parse_flux
from ingest_sge.mapping.local_time import Ambiguous, paris_instant

__all__ = [
    "Ambiguous",
    "FluxStats",
    "Parsed",
    "Rejected",
    "paris_instant",
    "parse_flux",
]
