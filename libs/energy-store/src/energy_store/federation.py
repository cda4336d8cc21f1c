"""What peers sent this collective, for the pages that show it beside local data.

The federation gateway writes ``federation_peer_rollups`` (migration
1701_federation) with each value's provenance; the api reads it through this
module (services never import each other). Aggregates only: a peer's
individual series received under a resident's consent are not for the city page.

:func:`neighbour_aggregates` is what a city sees: only peers whose registry row
names that commune in ``shown_to`` (migration 1702_federation_outbox), never a
revoked peer, and only values that still pass the secrecy rule given by the
caller (the peer applied its own rule before sending; ours is applied again so a
peer with a laxer rule cannot make us display what we would not publish).
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
    keyid: str = ""
    """``"<peer domain> <kid>"``: the pinned key whose signature was verified."""
    max_share: float | None = None


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


async def neighbour_aggregates(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    commune: str,
    start: datetime,
    end: datetime,
    min_points: int,
    max_share: float | None,
    bucket: str = "P1D",
) -> list[PeerAggregate]:
    """What peers sent that the city of ``commune`` may see, for ``[start, end)``.

    A value without a point count, under ``min_points`` or dominated by one point
    (above ``max_share``) is left out.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware")
    rows = await conn.fetch(
        """
        SELECT r.peer_domain, r.urn, r.bucket, r.bucket_start, r.value, r.unit,
               r.delivery_points, r.received_at, r.keyid, r.max_share
        FROM federation_peer_rollups r
        JOIN federation_peers p ON p.domain = r.peer_domain
        WHERE $1 = ANY(p.shown_to) AND (p.revoked_at IS NULL OR p.revoked_at > now())
          AND r.urn LIKE 'urn:sen1:%' AND r.bucket = $2
          AND r.bucket_start >= $3 AND r.bucket_start < $4
          AND r.delivery_points >= $5
          AND ($6::float8 IS NULL OR coalesce(r.max_share, 1) <= $6)
        ORDER BY r.peer_domain, r.urn, r.bucket_start
        """,
        commune,
        bucket,
        start,
        end,
        min_points,
        max_share,
    )
    return [PeerAggregate(**dict(r)) for r in rows]
