"""Two collectives in `make run`: a neighbouring commune that federates with the first.

Loopback only (refused for any other address, like every demo secret): a peer's
key is pinned on first use from its JWKS, which is only acceptable when both
gateways are processes of the same `make run`. In production the operator pins
fingerprints received out of band (README, "Connecting two collectives").

- :func:`prepare_neighbour_database` creates and migrates the neighbour's own
  database and seeds one commune (Grenoble, 38185, beside Echirolles) with an IRIS
  and 60 days of daily rollups above the secrecy threshold, so there is something
  to share without running a second aggregator.
- :func:`federate` registers each demo peer (grant: this collective's communes,
  IRIS and commune levels, daily buckets) and subscribes to the URNs asked, retrying
  until the peer is up and has registered us too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from energy_core.domain.time import PARIS, local_day_bounds
from energy_core.errors import EnergyError
from energy_core.loops import Backoff, sleep_or_stop
from energy_store import migrate
from federation_gateway.client import PeerClient, fetch_keys
from federation_gateway.egress import PeerGrant
from federation_gateway.repository import Peer, PgRepository

logger = logging.getLogger(__name__)

NEIGHBOUR_COMMUNE = ("38185", "Grenoble")
NEIGHBOUR_IRIS = ("381850101", "Île Verte (demo)")
DEMO_POINTS = 40


class DemoRefusedError(RuntimeError):
    """A demo setting used with an address that is not loopback."""


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise DemoRefusedError(f"demo federation is for loopback only, not {host!r}")


async def prepare_neighbour_database(dsn: str, now: datetime) -> None:
    """Creates, migrates and seeds the neighbour collective's database (idempotent)."""
    require_loopback(dsn.replace("postgresql://", "http://", 1))
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval(
            "SELECT true FROM pg_database WHERE datname = $1", name
        ):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await asyncio.to_thread(migrate.upgrade, dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO communes (insee, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            *NEIGHBOUR_COMMUNE,
        )
        await conn.execute(
            "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw)"
            " VALUES ($1, $2, $3, 800) ON CONFLICT DO NOTHING",
            NEIGHBOUR_IRIS[0],
            NEIGHBOUR_COMMUNE[0],
            NEIGHBOUR_IRIS[1],
        )
        today = now.astimezone(PARIS).date()
        rows = []
        for back in range(60, 0, -1):
            start, end = local_day_bounds(today - timedelta(days=back))
            winter = 1.0 + 0.4 * math.cos(2 * math.pi * start.timetuple().tm_yday / 365)
            value = DEMO_POINTS * 9_000.0 * winter  # ~9 kWh a home a day
            for scope, scope_id in (
                ("neighbourhood", NEIGHBOUR_IRIS[0]),
                ("commune", NEIGHBOUR_COMMUNE[0]),
            ):
                rows.append((scope, scope_id, start, end, value, value / 12))
        await conn.executemany(
            """
            INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                energy, direction, quality, unit, value, delivery_points,
                max_point_value)
            VALUES ($1, $2, 'P1D', $3, $4, 'electricity', 'consumption', 'raw', 'Wh',
                    $5, 40, $6)
            ON CONFLICT DO NOTHING
            """,
            rows,
        )
    finally:
        await conn.close()


async def federate(
    peers_json: str,
    *,
    own_url: str,
    repository: PgRepository,
    client: PeerClient,
    http: httpx.AsyncClient,
    stop: asyncio.Event,
) -> None:
    """Registers the demo peers and subscribes; returns when done or stopped.

    ``peers_json``: ``[{"domain", "url", "subscribe": [urn, ...]}]``.
    """
    require_loopback(own_url)
    peers = json.loads(peers_json)
    communes = [
        r["insee"] for r in await repository.pool.fetch("SELECT insee FROM communes")
    ]
    backoff = Backoff(0.5, 5.0)
    for entry in peers:
        url = str(entry["url"])
        require_loopback(url)
        attempt = 0
        while not stop.is_set():
            attempt += 1
            try:
                await _federate_one(
                    entry, url, own_url, communes, repository, client, http
                )
                logger.info("demo federation with %s set up", entry["domain"])
                break
            except (EnergyError, httpx.HTTPError, ValueError, KeyError) as exc:
                logger.info(
                    "demo peer %s not ready (%s)", entry["domain"], type(exc).__name__
                )
                await sleep_or_stop(stop, backoff.delay(attempt))


async def _federate_one(
    entry: dict[str, object],
    url: str,
    own_url: str,
    communes: list[str],
    repository: PgRepository,
    client: PeerClient,
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(url.rstrip("/") + "/.well-known/jwks.json")
    kids = tuple(k["kid"] for k in response.json().get("keys", []))
    keys = await fetch_keys(http, url, kids)  # refuses kids that are not thumbprints
    domain = str(entry["domain"])
    await repository.upsert_peer(
        Peer(
            domain=domain,
            base_url=url,
            fingerprints=tuple(keys),
            grant=PeerGrant(
                domain=domain,
                territories=frozenset(communes),
                levels=frozenset({"neighbourhood", "commune"}),
                buckets=frozenset({"P1D"}),
            ),
            shown_to=frozenset(communes),  # our city page shows the neighbour
        )
    )
    urns = entry.get("subscribe") or []
    if urns:
        await client.post(
            url.rstrip("/") + "/federation/v1/subscriptions",
            {
                "urns": urns,
                "callback_url": own_url.rstrip("/") + "/federation/v1/push",
                "since": (datetime.now(UTC) - timedelta(days=90)).isoformat(),
            },
        )
