"""SGE payloads -> ``energy_core.domain`` (pure: streams in, batches out, no I/O)."""

from collections.abc import Iterator

from ingest_sge.mapping.bulk import C68Record, flux_code, parse_bulk
from ingest_sge.mapping.flux import ByteStream, FluxStats, Parsed, Rejected, parse_flux
from ingest_sge.mapping.local_time import Ambiguous, paris_instant


def parse_member(
    stream: ByteStream,
    *,
    file_name: str,
    member: str = "",
    ambiguous: Ambiguous = Ambiguous.EARLIER,
    stats: FluxStats | None = None,
) -> Iterator[Parsed | C68Record]:
    """One member of a flux file, whatever its kind.

    A bulk-order result (R63/R64/R65/R66/C68 in the member's or the file's name,
    JSON or CSV) goes to :func:`parse_bulk`; everything else is one of the XML
    flux (R50, R151, R171, R4x) that :func:`parse_flux` recognises by its root.
    """
    code = flux_code(member, file_name)
    if code:
        return parse_bulk(stream, code=code, ambiguous=ambiguous, stats=stats)
    return parse_flux(stream, ambiguous=ambiguous, stats=stats)


__all__ = [
    "Ambiguous",
    "C68Record",
    "FluxStats",
    "Parsed",
    "Rejected",
    "flux_code",
    "paris_instant",
    "parse_bulk",
    "parse_flux",
    "parse_member",
]
