"""Pushes follow a commit-ordered outbox: a late-committing transaction is
pushed, nothing is pushed again once acknowledged; alerts reach subscribers (those
raised since the subscription's ``since`` too), only for neighbourhoods with
enough delivery points.

Two collectives on loopback; B's push loop runs, A stores what arrives.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .test_federation_two_collectives import (
    AGGREGATE,
    COMMUNE,
    DAY0,
    IRIS,
    NEIGHBOURHOODS_P1D,
    _until,
    peered,
    subscribe,
)

pytestmark = pytest.mark.integration

SMALL_IRIS = "381510102"  # 3 delivery points: its alerts never leave


async def _subscribed(collectives: Any, urns: list[str]) -> tuple[Any, Any]:
    a, b, _ = await peered(collectives, **NEIGHBOURHOODS_P1D)
    await subscribe(a, b, urns)
    return a, b


async def _day(pool: Any, day: int, value: float, points: int) -> None:
    start = DAY0 + timedelta(days=day)
    await pool.execute(
        """
        INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
            energy, direction, quality, unit, value, delivery_points, max_point_value)
        VALUES ('neighbourhood', $1, 'P1D', $2, $3, 'electricity', 'consumption',
                'raw', 'Wh', $4, $5, $6)
        """,
        IRIS,
        start,
        start + timedelta(days=1),
        value,
        points,
        value / points,
    )


async def test_a_late_committing_transaction_is_pushed_once(collectives: Any) -> None:
    a, b = await _subscribed(collectives, [AGGREGATE])
    stop = asyncio.Event()
    loop = asyncio.create_task(b.runtime.service.run(stop))
    try:
        await _until(
            lambda: a.runtime.pool.fetchval(
                "SELECT true FROM federation_peer_rollups WHERE value = 120000"
            )
        )
        # A writer starts (its updated_at is its start, now()) and commits late,
        # after later writes were pushed: a timestamp cursor would pass it over.
        async with b.runtime.pool.acquire() as late:
            tx = late.transaction()
            await tx.start()
            await late.execute(
                "UPDATE rollups SET value = 777000, max_point_value = 7000,"
                " updated_at = now() WHERE bucket_start = $1",
                DAY0,
            )
            await asyncio.sleep(0.3)
            await _day(b.runtime.pool, 2, 150_000.0, 15)  # commits first
            await asyncio.sleep(1.0)  # rounds run while the writer is open
            # The open writer holds the horizon: the later commit waits for it
            # (pushed late, never lost), and nothing of the writer leaked.
            assert not await a.runtime.pool.fetchval(
                "SELECT true FROM federation_peer_rollups WHERE value >= 150000"
            )
            await tx.commit()
        await _until(
            lambda: a.runtime.pool.fetchval(
                "SELECT count(*) = 2 FROM federation_peer_rollups"
                " WHERE value IN (150000, 777000)"
            )
        )

        # Acknowledged pushes are not sent again: the count of pushes A stored
        # stays put over several rounds.
        pushes = await a.runtime.pool.fetchval(
            "SELECT count(*) FROM federation_received"
        )
        await asyncio.sleep(1.0)
        assert (
            await a.runtime.pool.fetchval("SELECT count(*) FROM federation_received")
            == pushes
        )
        assert 2 <= pushes <= 3  # the catch-up, then one or two rounds after it
        # The outbox is pruned behind the subscription.
        await _until(
            lambda: b.runtime.pool.fetchval(
                "SELECT count(*) = 0 FROM federation_outbox"
            )
        )
    finally:
        stop.set()
        await loop


async def _homes(pool: Any, iris: str, count: int, first: int) -> None:
    """``count`` PRM delivery points in one building of ``iris``."""
    idu = f"{COMMUNE}000AB{first:04d}"
    await pool.execute(
        "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw)"
        " VALUES ($1, $2, 'Nord', 300) ON CONFLICT DO NOTHING",
        iris,
        COMMUNE,
    )
    await pool.execute(
        "INSERT INTO parcels (idu, commune_insee, iris, geometry)"
        " VALUES ($1, $2, $3, '{}')",
        idu,
        COMMUNE,
        iris,
    )
    await pool.execute(
        "INSERT INTO buildings (building_id, address, parcel_idu, iris, surface_m2,"
        " building_type) VALUES ($1, 'rue', $2, $3, 900, 'residential')",
        f"b{first}",
        idu,
        iris,
    )
    await pool.executemany(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector, building_id)"
        " VALUES ($1, 'prm', 'electricity', 'consumption', 'residential', $2)",
        [(f"{first + i:014d}", f"b{first}") for i in range(count)],
    )


async def _alert(pool: Any, iris: str, level: int, change: str) -> str:
    alert = str(uuid.uuid4())
    at = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO alerts (alert_id, iris, level, state, raised_at, updated_at,"
            " peak_load_kw, capacity_kw) VALUES ($1, $2, $3, 'active', $4, $4, 480, 500)",
            alert,
            iris,
            level,
            at,
        )
        await conn.execute(
            "INSERT INTO alert_events (alert_id, occurred_at, change, level,"
            " previous_level, load_kw, capacity_kw) VALUES ($1, $2, $3, $4, 0, 480, 500)",
            alert,
            at,
            change,
            level,
        )
    return alert


async def test_alerts_reach_subscribers_only_above_the_threshold(
    collectives: Any,
) -> None:
    small = f"urn:sen1:iris:{SMALL_IRIS}_alerts"
    big = f"urn:sen1:iris:{IRIS}_alerts"
    a, b = await _subscribed(collectives, [big, small])
    await _homes(b.runtime.pool, IRIS, 12, 1000)
    await _homes(b.runtime.pool, SMALL_IRIS, 3, 2000)
    # Raised after the subscription, before B's loop ran: the catch-up sends it.
    early = await _alert(b.runtime.pool, IRIS, 1, "raised")
    stop = asyncio.Event()
    loop = asyncio.create_task(b.runtime.service.run(stop))
    try:
        await _until(
            lambda: a.runtime.pool.fetchval(
                "SELECT true FROM federation_peer_alerts WHERE alert_id = $1::uuid",
                early,
            )
        )
        # the catch-up is done: then alerts follow the outbox
        await _until(
            lambda: b.runtime.pool.fetchval(
                "SELECT outbox_xid IS NOT NULL FROM federation_subscriptions"
            )
        )
        shown = await _alert(b.runtime.pool, IRIS, 2, "raised")
        await _alert(b.runtime.pool, SMALL_IRIS, 3, "raised")
        row = await _until(
            lambda: a.runtime.pool.fetchrow(
                "SELECT peer_domain, iris, alert_id::text, change, level, keyid,"
                " signature FROM federation_peer_alerts WHERE alert_id = $1::uuid",
                shown,
            )
        )
        assert (row["peer_domain"], row["iris"], row["alert_id"]) == (
            b.domain,
            IRIS,
            shown,
        )
        assert (row["change"], row["level"]) == ("raised", 2)
        assert row["keyid"] == f"{b.domain} {b.runtime.keyring.current().kid}"
        assert row["signature"].startswith("sig1=:")
        await asyncio.sleep(1.0)
        assert [
            r["iris"]
            for r in await a.runtime.pool.fetch(
                "SELECT iris FROM federation_peer_alerts"
            )
        ] == [IRIS, IRIS]  # the 3-home neighbourhood's alert never left B
        # B revokes A: the next alert is not pushed.
        await b.runtime.repository.revoke_peer(a.domain, datetime.now(UTC))
        await _alert(b.runtime.pool, IRIS, 3, "raised")
        await asyncio.sleep(1.0)
        assert (
            await a.runtime.pool.fetchval("SELECT count(*) FROM federation_peer_alerts")
            == 2
        )
    finally:
        stop.set()
        await loop
