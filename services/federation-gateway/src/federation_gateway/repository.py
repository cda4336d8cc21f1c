"""The gateway's SQL behind a port (:class:`Repository`) and its asyncpg implementation.

The HTTP routes and the push loop receive the port, so their unit tests pass
:class:`InMemoryRepository`-like fakes and the integration tests the real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg

from energy_core.secrets import SecretBox
from federation_gateway.egress import PeerGrant
from federation_gateway.keys import SigningKey


@dataclass(frozen=True, slots=True)
class Peer:
    """A row of the peer registry."""

    domain: str
    base_url: str
    fingerprints: tuple[str, ...]
    grant: PeerGrant
    reshare: bool = False
    """Whether what we send this peer may be passed on by it (to its own peers)."""
    rate_limit_per_minute: int = 120
    revoked_at: datetime | None = None


class Repository(Protocol):
    """What the gateway reads and writes."""

    async def load_keys(self, box: SecretBox) -> list[SigningKey]: ...

    async def store_key(self, box: SecretBox, key: SigningKey) -> None: ...

    async def retire_keys(self, kids: list[str], at: datetime) -> None: ...

    async def peer(self, domain: str) -> Peer | None: ...

    async def peers(self) -> list[Peer]: ...

    async def upsert_peer(self, peer: Peer) -> None: ...

    async def revoke_peer(self, domain: str, at: datetime) -> bool: ...

    async def remember_nonce(self, keyid: str, nonce: str, expires: datetime) -> bool:
        """True if the nonce was new (stored), False if it was seen: a replay."""
        ...

    async def forget_expired_nonces(self, now: datetime) -> int: ...


_SELECT_PEERS = """SELECT domain, base_url, fingerprints, territories, levels, buckets,
    series, reshare, rate_limit_per_minute, revoked_at FROM federation_peers"""


def _peer(row: asyncpg.Record) -> Peer:
    return Peer(
        domain=row["domain"],
        base_url=row["base_url"],
        fingerprints=tuple(row["fingerprints"]),
        grant=PeerGrant(
            domain=row["domain"],
            territories=frozenset(row["territories"]),
            levels=frozenset(row["levels"]),
            buckets=frozenset(row["buckets"]),
            series=row["series"],
            revoked_at=row["revoked_at"],
        ),
        reshare=row["reshare"],
        rate_limit_per_minute=row["rate_limit_per_minute"],
        revoked_at=row["revoked_at"],
    )


class PgRepository:
    """:class:`Repository` on PostgreSQL (the tables of migration 1701_federation)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ping(self) -> bool:
        """Readiness: PostgreSQL answers."""
        try:
            return bool(await self.pool.fetchval("SELECT true"))
        except (OSError, asyncpg.PostgresError):
            return False

    async def load_keys(self, box: SecretBox) -> list[SigningKey]:
        rows = await self.pool.fetch(
            "SELECT private_sealed, created_at, retired_at FROM federation_keys"
        )
        return [
            SigningKey.unseal(
                box, r["private_sealed"], r["created_at"], r["retired_at"]
            )
            for r in rows
        ]

    async def store_key(self, box: SecretBox, key: SigningKey) -> None:
        await self.pool.execute(
            "INSERT INTO federation_keys (kid, private_sealed, created_at, retired_at)"
            " VALUES ($1, $2, $3, $4)",
            key.kid,
            key.seal(box),
            key.created_at,
            key.retired_at,
        )

    async def retire_keys(self, kids: list[str], at: datetime) -> None:
        await self.pool.execute(
            "UPDATE federation_keys SET retired_at = $2"
            " WHERE kid = ANY($1::text[]) AND retired_at IS NULL",
            kids,
            at,
        )

    async def peer(self, domain: str) -> Peer | None:
        row = await self.pool.fetchrow(_SELECT_PEERS + " WHERE domain = $1", domain)
        return _peer(row) if row else None

    async def peers(self) -> list[Peer]:
        rows = await self.pool.fetch(_SELECT_PEERS + " ORDER BY domain")
        return [_peer(r) for r in rows]

    async def upsert_peer(self, peer: Peer) -> None:
        await self.pool.execute(
            """
            INSERT INTO federation_peers (domain, base_url, fingerprints, territories,
                levels, buckets, series, reshare, rate_limit_per_minute, revoked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (domain) DO UPDATE SET base_url = EXCLUDED.base_url,
                fingerprints = EXCLUDED.fingerprints,
                territories = EXCLUDED.territories, levels = EXCLUDED.levels,
                buckets = EXCLUDED.buckets, series = EXCLUDED.series,
                reshare = EXCLUDED.reshare,
                rate_limit_per_minute = EXCLUDED.rate_limit_per_minute,
                revoked_at = EXCLUDED.revoked_at
            """,
            peer.domain,
            peer.base_url,
            list(peer.fingerprints),
            sorted(peer.grant.territories),
            sorted(peer.grant.levels),
            sorted(peer.grant.buckets),
            peer.grant.series,
            peer.reshare,
            peer.rate_limit_per_minute,
            peer.revoked_at,
        )

    async def revoke_peer(self, domain: str, at: datetime) -> bool:
        status = await self.pool.execute(
            "UPDATE federation_peers SET revoked_at = $2"
            " WHERE domain = $1 AND revoked_at IS NULL",
            domain,
            at,
        )
        return bool(status.endswith(" 1"))

    async def remember_nonce(self, keyid: str, nonce: str, expires: datetime) -> bool:
        inserted = await self.pool.fetchval(
            "INSERT INTO federation_nonces (keyid, nonce, expires_at)"
            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
            keyid,
            nonce,
            expires,
        )
        return bool(inserted)

    async def forget_expired_nonces(self, now: datetime) -> int:
        status = await self.pool.execute(
            "DELETE FROM federation_nonces WHERE expires_at < $1", now
        )
        return int(status.split()[-1])
