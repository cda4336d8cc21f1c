"""What peers sent this collective, for the pages that show it beside local data.

The federation gateway writes ``federation_peer_rollups`` (migration
1701_federation) with each value's provenance; the api reads it through this
module (services never import each other). Aggregates only: a peer's
individual series received under a resident's consent are not for the city page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class PeerAggregate:
    """One value a peer published, as received (period-start stamped)."""

    peer_domain: str
    urn: str
    """``urn:sen1:<level>:<id>_<direction>/energy/active/<bucket>``."""
    bucket: str
    bucket_start: datetime
    value: float
    unit: str
    delivery_points: int | None
    received_at: datetime


async def peer_aggregates(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    start: datetime,
    end: datetime,
    bucket: str = "P1D",
) -> list[PeerAggregate]:
    """Aggregates received from peers for buckets starting in ``[start, end)``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware")
    rows = await conn.fetch(
        """
        SELECT peer_domain, urn, bucket, bucket_start, value, unit, delivery_points,
               received_at
        FROM federation_peer_rollups
        WHERE urn LIKE 'urn:sen1:%' AND bucket = $1
          AND bucket_start >= $2 AND bucket_start < $3
        ORDER BY peer_domain, urn, bucket_start
        """,
        bucket,
        start,
        end,
    )
    return [PeerAggregate(**dict(r)) for r in rows]
