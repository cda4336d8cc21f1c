"""The gateway's SQL behind a port (:class:`Repository`) and its asyncpg implementation.

The HTTP routes and the push loop receive the port, so their unit tests pass
:class:`InMemoryRepository`-like fakes and the integration tests the real one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg

from energy_core.privacy import Figures
from energy_core.secrets import SecretBox
from federation_gateway.egress import Aggregate, Consent, Family, PeerGrant, Timeline
from federation_gateway.keys import SigningKey
from federation_gateway.mapping import AggregateUrn, Point, Received


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
    jid: str | None = None
    """The peer's bare XMPP JID: a Quoalise request from it is decided as this peer."""
    shown_to: frozenset[str] = frozenset()
    """Local communes whose city key sees what this peer sends (the city page)."""


@dataclass(frozen=True, slots=True)
class AggregateRow:
    """One rollup with the figures the secrecy rule needs."""

    start: datetime
    value: float
    unit: str
    delivery_points: int
    max_point_value: float
    commune: str
    family: Family | None = None
    """Its parent and all its siblings in this bucket (an IRIS: its commune and
    the commune's IRIS; a parcel: its IRIS and the IRIS's parcels, with the
    IRIS's own family above), for complementary suppression at egress."""
    timeline: Timeline | None = None
    """Its enclosing coarser bucket and all that bucket's finer ones (the time
    pass of complementary suppression)."""
    iris: str = ""
    """The IRIS a parcel or building lies in (grants may name the IRIS)."""

    def egress_item(self, urn: AggregateUrn) -> Aggregate:
        """This rollup of ``urn`` as the egress decision weighs it (pull, push
        and Quoalise decide on the same item)."""
        return Aggregate(
            urn.scope,
            urn.territory,
            self.commune,
            urn.bucket,
            self.value,
            self.delivery_points,
            self.max_point_value,
            self.family,
            self.timeline,
            self.iris,
        )


@dataclass(frozen=True, slots=True)
class Subscription:
    """A peer's subscription due for a push."""

    subscription_id: str
    peer: Peer
    callback_url: str
    urns: tuple[str, ...]
    cursor: datetime
    """Individual series: ``readings.ingested_at`` reached. Aggregates: the
    ``since`` of the first catch-up, until :attr:`outbox_xid` is set."""
    attempts: int
    failing_since: datetime | None
    outbox_xid: int | None = None
    """Every outbox row of a transaction below this id was handled (None: the
    first catch-up from :attr:`cursor` is still to do)."""


@dataclass(frozen=True, slots=True)
class ReceivedAlert:
    """An alert change a peer pushed (validated by ``mapping.alerts_from_json``)."""

    iris: str
    alert_id: str
    occurred_at: datetime
    change: str
    level: int
    previous_level: int
    capacity_kw: float | None


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert change, with what the egress decision needs."""

    alert_id: str
    iris: str
    commune: str
    occurred_at: datetime
    change: str
    level: int
    previous_level: int
    capacity_kw: float
    delivery_points: int


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

    async def aggregates(
        self, urn: AggregateUrn, start: datetime, end: datetime
    ) -> list[AggregateRow]: ...

    async def consent_for(self, meter_id: str, grantee: str) -> Consent | None: ...

    async def series(
        self, urn: str, start: datetime, end: datetime
    ) -> tuple[str, list[Point]]: ...

    async def log_access(self, consent: Consent, route: str) -> None: ...

    async def store_received(
        self,
        peer: str,
        keyid: str,
        signature: str,
        key: str,
        rows: list[Received],
        alerts: list[ReceivedAlert] | None = None,
    ) -> bool: ...

    async def add_subscription(
        self, peer: str, callback_url: str, urns: list[str], cursor: datetime
    ) -> str: ...

    async def due_subscriptions(self, now: datetime) -> list[Subscription]: ...

    async def aggregate_changes(
        self, urn: AggregateUrn, since: datetime, limit: int
    ) -> list[tuple[AggregateRow, datetime]]: ...

    async def series_changes(
        self, urn: str, since: datetime, limit: int
    ) -> tuple[str, list[tuple[Point, datetime]]]: ...

    async def pushed(
        self, subscription_id: str, cursor: datetime, outbox_xid: int | None = None
    ) -> None: ...

    async def outbox_horizon(self) -> tuple[int, int | None]:
        """(xmin of a fresh snapshot, ``ready_after`` of the outbox or None)."""
        ...

    async def outbox_changes(
        self, urn: AggregateUrn, from_xid: int, to_xid: int
    ) -> list[AggregateRow]: ...

    async def alert_changes(
        self, iris: str, from_xid: int, to_xid: int
    ) -> list[AlertRow]: ...

    async def alerts_since(self, iris: str, since: datetime) -> list[AlertRow]: ...

    async def prune_outbox(self) -> int: ...

    async def push_failed(
        self, subscription_id: str, now: datetime, retry_at: datetime, expire: bool
    ) -> None: ...


_SELECT_PEERS = """SELECT domain, base_url, fingerprints, territories, levels, buckets,
    series, reshare, rate_limit_per_minute, revoked_at, jid, shown_to
    FROM federation_peers"""


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
        jid=row["jid"],
        shown_to=frozenset(row["shown_to"]),
    )


_ALERT_ROWS = """
SELECT e.alert_id::text, a.iris, n.commune_insee AS commune, e.occurred_at, e.change,
       e.level, e.previous_level, e.capacity_kw,
       (SELECT count(DISTINCT coalesce(m.delivery_point_id, m.meter_id))
        FROM buildings b JOIN meters m USING (building_id)
        WHERE b.iris = a.iris AND m.scheme = 'prm')::int AS points
FROM alert_events e
JOIN alerts a ON a.alert_id = e.alert_id
JOIN neighbourhoods n ON n.iris = a.iris
"""
"""An alert event with its neighbourhood's commune and electricity delivery points
(PRMs): what egress.decide needs for an alert."""


def _alert_row(r: asyncpg.Record) -> AlertRow:
    return AlertRow(
        r["alert_id"],
        r["iris"],
        r["commune"],
        r["occurred_at"],
        r["change"],
        r["level"],
        r["previous_level"],
        r["capacity_kw"],
        r["points"],
    )


COARSER = {"PT30M": "PT1H", "PT1H": "P1D", "P1D": "P1M"}
"""The bucket size that encloses each finer one (the api's time pass walks the
same chain; a month encloses nothing)."""


# A territory's rollups merged across qualities, one row per bucket, exactly as
# the api reads them (its queries._MERGED): a point whose bucket is partly raw and
# partly corrected sits in two rows with part of its value in each, so value = sum,
# points = the largest count (a lower bound of the distinct points), largest point
# = the sum of the rows' largest points (an upper bound). Why not the best-quality
# row: it holds only part of the value, and the api's total minus that part would
# give a peer the few points of the other rows.
_MERGED = """
SELECT r.scope, r.scope_id, r.bucket_start, max(r.bucket_end) AS bucket_end,
       sum(r.value) AS value, min(r.unit) AS unit,
       max(r.delivery_points) AS delivery_points,
       sum(r.max_point_value) AS max_point_value, max(r.updated_at) AS updated_at
FROM rollups r
WHERE r.energy = 'electricity' AND r.bucket = $3 AND r.direction = $4 AND {where}
GROUP BY r.scope, r.scope_id, r.bucket_start"""

# One territory's merged rows ($1 scope, $2 id, $3 bucket, $4 direction) with the
# commune and the IRIS it lies in (grants name communes or IRIS).
_TERRITORY = (
    """
SELECT m.*,
       COALESCE(n.commune_insee, p.commune_insee, CASE WHEN m.scope = 'commune'
                THEN m.scope_id END, '') AS commune,
       COALESCE(n.iris, p.iris, '') AS iris
FROM ("""
    + _MERGED
    + """) m
LEFT JOIN neighbourhoods n ON m.scope = 'neighbourhood' AND n.iris = m.scope_id
LEFT JOIN buildings b ON m.scope = 'building' AND b.building_id = m.scope_id
LEFT JOIN parcels p ON p.idu = CASE m.scope WHEN 'parcel' THEN m.scope_id
                                            WHEN 'building' THEN b.parcel_idu END"""
)


def _territory(where: str) -> str:
    """:data:`_TERRITORY` with ``where`` on the rollups rows (``r``)."""
    return _TERRITORY.format(where="r.scope = $1 AND r.scope_id = $2 AND " + where)


# The statements, built once from the constant fragments above (no input in them).
_AGGREGATES = (
    _territory("r.bucket_start >= $5 AND r.bucket_start < $6")
    + " ORDER BY m.bucket_start"
)
_CHANGED_SINCE = (
    "SELECT * FROM ("  # noqa: S608 - constant fragments, parameters bound
    + _territory("true")
    + ") c WHERE updated_at > $5 ORDER BY updated_at LIMIT $6"
)
_OUTBOX_CHANGED = (
    """
WITH changed AS (
  SELECT DISTINCT bucket_start FROM federation_outbox
  WHERE scope = $1 AND scope_id = $2 AND bucket = $3 AND direction = $4
    AND xid >= $5::text::xid8 AND xid < $6::text::xid8
)"""  # noqa: S608 - constant fragments, parameters bound
    + _territory("r.bucket_start IN (SELECT bucket_start FROM changed)")
    + " ORDER BY m.bucket_start"
)
_SPANNING = (
    _territory("r.bucket_start < $6 AND r.bucket_end > $5") + " ORDER BY m.bucket_start"
)
LEVELS = ("commune", "neighbourhood", "parcel", "building")
"""The places, top down; each lies in exactly one place of the level above."""

# A place's chain up to its commune ($1 its id): the path's ids and, per level
# below the commune (k1, k2, k3), ALL the children of the path's node above (the api's
# queries.FAMILY, read here since services do not import each other).
_CHAIN = {
    "neighbourhood": """
SELECT ARRAY[n.commune_insee, n.iris] AS path,
       (SELECT array_agg(x.iris) FROM neighbourhoods x
        WHERE x.commune_insee = n.commune_insee) AS k1
FROM neighbourhoods n WHERE n.iris = $1""",
    "parcel": """
SELECT ARRAY[p.commune_insee, p.iris, p.idu] AS path,
       (SELECT array_agg(x.iris) FROM neighbourhoods x
        WHERE x.commune_insee = p.commune_insee) AS k1,
       (SELECT array_agg(x.idu) FROM parcels x WHERE x.iris = p.iris) AS k2
FROM parcels p WHERE p.idu = $1""",
    "building": """
SELECT ARRAY[p.commune_insee, p.iris, p.idu, b.building_id] AS path,
       (SELECT array_agg(x.iris) FROM neighbourhoods x
        WHERE x.commune_insee = p.commune_insee) AS k1,
       (SELECT array_agg(x.idu) FROM parcels x WHERE x.iris = p.iris) AS k2,
       (SELECT array_agg(x.building_id) FROM buildings x
        WHERE x.parcel_idu = b.parcel_idu) AS k3
FROM buildings b JOIN parcels p ON p.idu = b.parcel_idu
WHERE b.building_id = $1""",
}
# The merged rows of some places ($1 scopes, $2 ids, in pairs) in some buckets ($5).
_PLACES = _MERGED.format(
    where="(r.scope, r.scope_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    " AND r.bucket_start = ANY($5::timestamptz[])"
)


def _aggregate_row(r: asyncpg.Record) -> AggregateRow:
    """One rollup bucket merged across qualities (:data:`_MERGED`); every
    aggregate query selects these columns."""
    return AggregateRow(
        r["bucket_start"],
        r["value"],
        r["unit"],
        r["delivery_points"],
        r["max_point_value"],
        r["commune"],
        iris=r["iris"],
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

    async def peer_by_jid(self, jid: str) -> Peer | None:
        """The registry row of a bare XMPP JID (case-insensitive, as JIDs compare)."""
        row = await self.pool.fetchrow(
            _SELECT_PEERS + " WHERE lower(jid) = lower($1)", jid
        )
        return _peer(row) if row else None

    async def peers(self) -> list[Peer]:
        rows = await self.pool.fetch(_SELECT_PEERS + " ORDER BY domain")
        return [_peer(r) for r in rows]

    async def upsert_peer(self, peer: Peer) -> None:
        await self.pool.execute(
            """
            INSERT INTO federation_peers (domain, base_url, fingerprints, territories,
                levels, buckets, series, reshare, rate_limit_per_minute, revoked_at,
                jid, shown_to)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (domain) DO UPDATE SET base_url = EXCLUDED.base_url,
                fingerprints = EXCLUDED.fingerprints,
                territories = EXCLUDED.territories, levels = EXCLUDED.levels,
                buckets = EXCLUDED.buckets, series = EXCLUDED.series,
                reshare = EXCLUDED.reshare,
                rate_limit_per_minute = EXCLUDED.rate_limit_per_minute,
                revoked_at = EXCLUDED.revoked_at, jid = EXCLUDED.jid,
                shown_to = EXCLUDED.shown_to
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
            peer.jid,
            sorted(peer.shown_to),
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

    async def aggregates(
        self, urn: AggregateUrn, start: datetime, end: datetime
    ) -> list[AggregateRow]:
        """Rollups of one territory, merged across qualities as the api merges them."""
        rows = await self.pool.fetch(
            _AGGREGATES,
            urn.scope,
            urn.territory,
            urn.bucket,
            urn.direction,
            start,
            end,
        )
        return await self._complete(urn, [_aggregate_row(r) for r in rows])

    async def consent_for(self, meter_id: str, grantee: str) -> Consent | None:
        """The newest consent of ``meter_id`` naming ``grantee`` (live or not: the
        egress decision says whether it holds now), with its verification state
        and whether its holder has ``meter_access()`` to the meter now, and over
        which window of readings."""
        row = await self.pool.fetchrow(
            """
            SELECT c.consent_id::text, c.meter_id, c.grantee, c.starts_at,
                   c.expires_at, c.revoked_at, c.verification = 'verified' AS verified,
                   a.from_ts IS NOT NULL AS has_access,
                   greatest(a.from_ts, coalesce(c.data_from, a.from_ts)) AS data_from,
                   least(a.until_ts, c.expires_at) AS data_until
            FROM consents c
            LEFT JOIN LATERAL (
                SELECT min(m.from_ts) AS from_ts, max(m.until_ts) AS until_ts
                FROM meter_access(c.person_id, now()) m
                WHERE m.meter_id = c.meter_id
                HAVING count(*) > 0
            ) a ON true
            WHERE c.meter_id = $1 AND c.grantee = $2
            ORDER BY (c.revoked_at IS NULL) DESC, c.starts_at DESC LIMIT 1
            """,
            meter_id,
            grantee,
        )
        if row is None:
            return None
        return Consent(
            row["consent_id"],
            row["meter_id"],
            row["grantee"],
            row["starts_at"],
            row["expires_at"],
            row["revoked_at"],
            verified=row["verified"],
            holder_has_access=row["has_access"],
            data_from=row["data_from"],
            data_until=row["data_until"],
        )

    async def series(
        self, urn: str, start: datetime, end: datetime
    ) -> tuple[str, list[Point]]:
        """(unit, values) of one stored series, period-start stamped."""
        rows = await self.pool.fetch(
            """
            SELECT s.unit, r.start_ts, r.value FROM series s
            JOIN readings r USING (series_id)
            WHERE s.urn = $1 AND r.start_ts >= $2 AND r.start_ts < $3
            ORDER BY r.start_ts
            """,
            urn,
            start,
            end,
        )
        unit = rows[0]["unit"] if rows else ""
        return unit, [Point(r["start_ts"], r["value"]) for r in rows]

    async def log_access(self, consent: Consent, route: str) -> None:
        """A peer's read of individual data, in the log the resident reads."""
        await self.pool.execute(
            """
            INSERT INTO api_access_log (actor_kind, subject_person_id, meter_id,
                                        consent_id, method, route)
            SELECT 'peer', c.person_id, c.meter_id, c.consent_id, 'POST', $2
            FROM consents c WHERE c.consent_id = $1::uuid
            """,
            consent.consent_id,
            route,
        )

    async def store_received(
        self,
        peer: str,
        keyid: str,
        signature: str,
        key: str,
        rows: list[Received],
        alerts: list[ReceivedAlert] | None = None,
    ) -> bool:
        """Stores a peer's push once (False: that idempotency key was seen)."""
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO federation_received (peer_domain, idempotency_key)"
                " VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
                peer,
                key,
            )
            if not fresh:
                return False
            await conn.executemany(
                """
                INSERT INTO federation_peer_rollups (peer_domain, urn, bucket,
                    bucket_start, value, unit, delivery_points, max_share, keyid,
                    signature)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                ON CONFLICT (peer_domain, urn, bucket, bucket_start) DO UPDATE SET
                    value = EXCLUDED.value, unit = EXCLUDED.unit,
                    delivery_points = EXCLUDED.delivery_points,
                    max_share = EXCLUDED.max_share, keyid = EXCLUDED.keyid,
                    signature = EXCLUDED.signature, received_at = now()
                """,
                [
                    (
                        peer,
                        r.urn,
                        r.urn.rsplit("/", 1)[-1],
                        r.start,
                        r.value,
                        r.unit,
                        r.points,
                        r.max_share,
                        keyid,
                        signature,
                    )
                    for r in rows
                ],
            )
            await conn.executemany(
                """
                INSERT INTO federation_peer_alerts (peer_domain, iris, alert_id,
                    occurred_at, change, level, previous_level, capacity_kw, keyid,
                    signature)
                VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, $8, $9, $10)
                ON CONFLICT DO NOTHING
                """,
                [
                    (
                        peer,
                        a.iris,
                        a.alert_id,
                        a.occurred_at,
                        a.change,
                        a.level,
                        a.previous_level,
                        a.capacity_kw,
                        keyid,
                        signature,
                    )
                    for a in alerts or []
                ],
            )
            return True

    async def add_subscription(
        self, peer: str, callback_url: str, urns: list[str], cursor: datetime
    ) -> str:
        """A new subscription, or the live one with the same callback and URNs (a
        peer that subscribes again after a restart is not pushed everything twice)."""
        async with self.pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchval(
                "SELECT subscription_id::text FROM federation_subscriptions"
                " WHERE peer_domain = $1 AND callback_url = $2 AND urns = $3"
                " AND expired_at IS NULL FOR UPDATE",
                peer,
                callback_url,
                urns,
            )
            if existing:
                return str(existing)
            return str(
                await conn.fetchval(
                    "INSERT INTO federation_subscriptions (peer_domain, callback_url,"
                    " urns, cursor) VALUES ($1, $2, $3, $4)"
                    " RETURNING subscription_id::text",
                    peer,
                    callback_url,
                    urns,
                    cursor,
                )
            )

    async def due_subscriptions(self, now: datetime) -> list[Subscription]:
        """Live subscriptions of peers not revoked, whose next attempt is due."""
        rows = await self.pool.fetch(
            """
            SELECT s.subscription_id::text, s.callback_url, s.urns, s.cursor,
                   s.attempts, s.failing_since, p.domain,
                   s.outbox_xid::text AS outbox_xid
            FROM federation_subscriptions s JOIN federation_peers p
              ON p.domain = s.peer_domain
            WHERE s.expired_at IS NULL AND s.next_attempt_at <= $1
              AND (p.revoked_at IS NULL OR p.revoked_at > $1)
            ORDER BY s.next_attempt_at LIMIT 100
            """,
            now,
        )
        out: list[Subscription] = []
        for r in rows:
            peer = await self.peer(r["domain"])
            if peer is not None:
                out.append(
                    Subscription(
                        r["subscription_id"],
                        peer,
                        r["callback_url"],
                        tuple(r["urns"]),
                        r["cursor"],
                        r["attempts"],
                        r["failing_since"],
                        int(r["outbox_xid"]) if r["outbox_xid"] else None,
                    )
                )
        return out

    async def aggregate_changes(
        self, urn: AggregateUrn, since: datetime, limit: int
    ) -> list[tuple[AggregateRow, datetime]]:
        """Rollups of one territory (merged across qualities) of which a row
        changed after ``since``."""
        rows = await self.pool.fetch(
            _CHANGED_SINCE,
            urn.scope,
            urn.territory,
            urn.bucket,
            urn.direction,
            since,
            limit,
        )
        found = await self._complete(urn, [_aggregate_row(r) for r in rows])
        return [(f, r["updated_at"]) for f, r in zip(found, rows, strict=True)]

    async def series_changes(
        self, urn: str, since: datetime, limit: int
    ) -> tuple[str, list[tuple[Point, datetime]]]:
        """(unit, values ingested after ``since`` with their ingestion time)."""
        rows = await self.pool.fetch(
            """
            SELECT s.unit, r.start_ts, r.value, r.ingested_at FROM series s
            JOIN readings r USING (series_id)
            WHERE s.urn = $1 AND r.ingested_at > $2
            ORDER BY r.ingested_at, r.start_ts LIMIT $3
            """,
            urn,
            since,
            limit,
        )
        unit = rows[0]["unit"] if rows else ""
        return unit, [
            (Point(r["start_ts"], r["value"]), r["ingested_at"]) for r in rows
        ]

    async def pushed(
        self, subscription_id: str, cursor: datetime, outbox_xid: int | None = None
    ) -> None:
        await self.pool.execute(
            "UPDATE federation_subscriptions SET cursor = greatest(cursor, $2),"
            " outbox_xid = coalesce($3::text::xid8, outbox_xid),"
            " attempts = 0, failing_since = NULL, next_attempt_at = now()"
            " WHERE subscription_id = $1::uuid",
            subscription_id,
            cursor,
            None if outbox_xid is None else str(outbox_xid),
        )

    # ------------------------------------------------------------ Quoalise

    async def quoalise_subscriptions(self) -> list[tuple[str, str, datetime | None]]:
        rows = await self.pool.fetch(
            "SELECT jid, identifier, last_start FROM quoalise_subscriptions"
        )
        return [(r["jid"], r["identifier"], r["last_start"]) for r in rows]

    async def add_quoalise_subscription(
        self, jid: str, identifier: str, last_start: datetime | None
    ) -> None:
        await self.pool.execute(
            "INSERT INTO quoalise_subscriptions (jid, identifier, last_start)"
            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            jid,
            identifier,
            last_start,
        )

    async def remove_quoalise_subscriptions(self, jid: str, identifier: str) -> None:
        """``identifier``, or every series of a bare ``urn:dev:prm:<PRM>``."""
        await self.pool.execute(
            "DELETE FROM quoalise_subscriptions WHERE jid = $1"
            " AND (identifier = $2 OR starts_with(identifier, $2 || '_'))",
            jid,
            identifier,
        )

    async def advance_quoalise_subscription(
        self, jid: str, identifier: str, last_start: datetime
    ) -> None:
        await self.pool.execute(
            "UPDATE quoalise_subscriptions SET last_start = greatest(last_start, $3)"
            " WHERE jid = $1 AND identifier = $2",
            jid,
            identifier,
            last_start,
        )

    async def store_peer_series(
        self, peer_domain: str, source_jid: str, rows: list[Received]
    ) -> int:
        """Values read from a peer's Quoalise proxy, as that peer's series, with
        the JID they came from and when (a value read again replaces the old)."""
        await self.pool.executemany(
            """
            INSERT INTO federation_peer_series (peer_domain, urn, start_ts, value,
                unit, source_jid)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (peer_domain, urn, start_ts) DO UPDATE SET
                value = EXCLUDED.value, unit = EXCLUDED.unit,
                source_jid = EXCLUDED.source_jid, received_at = now()
            """,
            [(peer_domain, r.urn, r.start, r.value, r.unit, source_jid) for r in rows],
        )
        return len(rows)

    async def enable_outbox(self) -> None:
        """Turns the outbox triggers on (once per database), then records the
        horizon after which every rollup writer saw them on: a transaction that
        wrote before has an id below it. Two statements, two transactions, on
        purpose: the horizon is read after the enabling row is committed."""
        await self.pool.execute(
            "INSERT INTO federation_outbox_enabled DEFAULT VALUES ON CONFLICT DO NOTHING"
        )
        await self.pool.execute(
            "UPDATE federation_outbox_enabled"
            " SET ready_after = pg_snapshot_xmax(pg_current_snapshot())"
            " WHERE ready_after IS NULL"
        )

    async def outbox_horizon(self) -> tuple[int, int | None]:
        row = await self.pool.fetchrow(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,"
            " (SELECT ready_after::text FROM federation_outbox_enabled) AS ready"
        )
        if row is None:  # pragma: no cover - a SELECT without FROM returns a row
            raise RuntimeError("no snapshot")
        return int(row["xmin"]), int(row["ready"]) if row["ready"] else None

    async def outbox_changes(
        self, urn: AggregateUrn, from_xid: int, to_xid: int
    ) -> list[AggregateRow]:
        """The current rollups (merged across qualities) of the buckets of ``urn`` that
        transactions with ids in ``[from_xid, to_xid)`` changed. The caller took
        ``to_xid`` as the xmin of an earlier snapshot: all those transactions
        have finished, so this statement sees every one of their rows."""
        rows = await self.pool.fetch(
            _OUTBOX_CHANGED,
            urn.scope,
            urn.territory,
            urn.bucket,
            urn.direction,
            str(from_xid),
            str(to_xid),
        )
        return await self._complete(urn, [_aggregate_row(r) for r in rows])

    async def _complete(
        self, urn: AggregateUrn, rows: list[AggregateRow]
    ) -> list[AggregateRow]:
        """Rows with what complementary suppression needs: in space, then in time."""
        return await self._with_timelines(urn, await self._with_families(urn, rows))

    async def _spanning(
        self, urn: AggregateUrn, lo: datetime, hi: datetime
    ) -> list[tuple[AggregateRow, datetime]]:
        """(row, bucket end) of ``urn``'s buckets that overlap ``[lo, hi)``."""
        rows = await self.pool.fetch(
            _SPANNING,
            urn.scope,
            urn.territory,
            urn.bucket,
            urn.direction,
            lo,
            hi,
        )
        return [(_aggregate_row(r), r["bucket_end"]) for r in rows]

    async def _with_timelines(
        self, urn: AggregateUrn, rows: list[AggregateRow]
    ) -> list[AggregateRow]:
        """Rows with their enclosing coarser bucket (its own family and timeline,
        recursively up to the month) and ALL that bucket's finer buckets (with
        their families), whatever the peer asked for: the api's time pass
        (``_cells`` there) over the same figures."""
        coarser = COARSER.get(urn.bucket)
        if coarser is None or not rows:
            return rows
        up = replace(urn, bucket=coarser)
        lo = min(r.start for r in rows)
        hi = max(r.start for r in rows) + timedelta(microseconds=1)
        spans = await self._spanning(up, lo, hi)
        if not spans:
            return rows
        parents = await self._complete(up, [p for p, _ in spans])
        ends = [end for _, end in spans]
        kids = await self._spanning(urn, parents[0].start, max(ends))
        finer = await self._with_families(urn, [k for k, _ in kids])
        # One parent item and one children tuple per coarser bucket, shared by
        # all its finer rows (egress decides each group once, by identity).
        groups: list[
            tuple[datetime, datetime, Aggregate, tuple[tuple[str, Aggregate], ...]]
        ] = [
            (
                p.start,
                end,
                p.egress_item(up),
                tuple(
                    (k.start.isoformat(), k.egress_item(urn))
                    for k in finer
                    if p.start <= k.start < end
                ),
            )
            for p, end in zip(parents, ends, strict=True)
        ]
        out: list[AggregateRow] = []
        for r in rows:
            at = next((g for g in groups if g[0] <= r.start < g[1]), None)
            if at is None:
                out.append(r)
                continue
            timeline = Timeline(r.start.isoformat(), at[2], at[3])
            out.append(replace(r, timeline=timeline))
        return out

    async def _with_families(
        self, urn: AggregateUrn, rows: list[AggregateRow]
    ) -> list[AggregateRow]:
        """Rollups of an IRIS, parcel or building with their families up to the
        commune: at each level, the parent's rollup and ALL the parent's
        children's rollups of the same buckets (merged across qualities),
        whatever the peer asked for. egress.decide then withholds what the api's
        complementary suppression would (its walk, commune → IRIS → parcel →
        building, where a parent's own verdict comes first)."""
        if urn.scope not in _CHAIN or not rows:
            return rows
        chain = await self.pool.fetchrow(_CHAIN[urn.scope], urn.territory)
        if chain is None:  # pragma: no cover - a rollup of a place not in the registry
            return rows
        path: list[str] = chain["path"]
        kids: list[list[str]] = [[]] + [
            chain[f"k{lv}"] or [] for lv in range(1, len(path))
        ]
        places = [(LEVELS[0], path[0])] + [
            (LEVELS[lv], kid) for lv in range(1, len(path)) for kid in kids[lv]
        ]
        found = await self.pool.fetch(
            _PLACES,
            [scope for scope, _ in places],
            [pid for _, pid in places],
            urn.bucket,
            urn.direction,
            [r.start for r in rows],
        )
        figures = {
            (f["scope"], f["scope_id"], f["bucket_start"]): Figures(
                f["delivery_points"], f["value"], f["max_point_value"]
            )
            for f in found
        }

        def family(at: datetime) -> Family | None:
            up: Family | None = None
            for lv in range(1, len(path)):
                children = tuple(
                    (kid, fig)
                    for kid in kids[lv]
                    if (fig := figures.get((LEVELS[lv], kid, at))) is not None
                )
                parent = figures.get((LEVELS[lv - 1], path[lv - 1], at))
                up = Family(parent, children, path[lv - 1], up)
            return up

        return [replace(r, family=family(r.start)) for r in rows]

    async def alerts_since(self, iris: str, since: datetime) -> list[AlertRow]:
        """Alert events of ``iris`` that occurred after ``since`` (a subscription's
        first catch-up; the outbox takes over from its horizon)."""
        rows = await self.pool.fetch(
            _ALERT_ROWS + " WHERE a.iris = $1 AND e.occurred_at > $2"
            " ORDER BY e.occurred_at, e.alert_id LIMIT 10000",
            iris,
            since,
        )
        return [_alert_row(r) for r in rows]

    async def alert_changes(
        self, iris: str, from_xid: int, to_xid: int
    ) -> list[AlertRow]:
        """Alert events of ``iris`` committed by transactions in ``[from, to)``,
        with the neighbourhood's count of electricity delivery points (PRMs)."""
        rows = await self.pool.fetch(
            _ALERT_ROWS + " JOIN federation_alert_outbox o ON o.alert_id = e.alert_id"
            " AND o.occurred_at = e.occurred_at AND o.change = e.change"
            " WHERE a.iris = $1 AND o.xid >= $2::text::xid8 AND o.xid < $3::text::xid8"
            " ORDER BY e.occurred_at, e.alert_id",
            iris,
            str(from_xid),
            str(to_xid),
        )
        return [_alert_row(r) for r in rows]

    async def prune_outbox(self) -> int:
        """Drops outbox rows every live subscription has passed (and, with no
        subscription, every row of a finished transaction)."""
        removed = 0
        for table in ("federation_outbox", "federation_alert_outbox"):
            status = await self.pool.execute(
                f"""
                DELETE FROM {table} WHERE xid < least(
                    pg_snapshot_xmin(pg_current_snapshot()),
                    (SELECT min(outbox_xid) FROM federation_subscriptions
                     WHERE expired_at IS NULL AND outbox_xid IS NOT NULL))
                """  # noqa: S608 - the table names are the two constants above
            )
            removed += int(status.split()[-1])
        return removed

    async def push_failed(
        self, subscription_id: str, now: datetime, retry_at: datetime, expire: bool
    ) -> None:
        await self.pool.execute(
            """
            UPDATE federation_subscriptions SET attempts = attempts + 1,
                failing_since = coalesce(failing_since, $2), next_attempt_at = $3,
                expired_at = CASE WHEN $4 THEN $2 END
            WHERE subscription_id = $1::uuid
            """,
            subscription_id,
            now,
            retry_at,
            expire,
        )
