"""Alert events leave through a transactional outbox (at-least-once).

:meth:`aggregator.load.LoadMonitor.sample` writes each alert change and its
serialised ``AlertEvent`` into ``alerts_outbox`` in the transaction that records
the change (migration ``1102_alerts_outbox``), so a committed change is never lost
and a rolled-back one is never announced. :func:`relay_alerts` publishes pending
rows in id order and marks them published only once the broker acknowledged them;
rows a crashed leader left pending are published by the next relay. Consumers may
therefore see an event twice, never miss one; ``(alert_id, occurred_at, change)``
identifies an event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg

logger = logging.getLogger(__name__)

Send = Callable[[str, bytes], Awaitable[None]]
"""Publishes (key, value) to the alerts topic and returns once it is acknowledged."""

ENQUEUE = "INSERT INTO alerts_outbox (iris, payload) VALUES ($1, $2)"

_CLAIM = """
SELECT id, iris, payload FROM alerts_outbox
WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""

_MARK = "UPDATE alerts_outbox SET published_at = now() WHERE id = ANY($1::bigint[])"

PRUNE = "DELETE FROM alerts_outbox WHERE published_at < $1"
"""Published rows are kept a while for inspection, then deleted."""


async def relay_alerts(
    conn: asyncpg.Connection, send: Send, *, limit: int = 500
) -> int:
    """Publishes up to ``limit`` pending alert events; returns how many.

    The claimed rows stay locked until they are marked, so two relays never send
    the same row concurrently; if ``send`` fails, nothing is marked and the rows
    are sent again next time.
    """
    async with conn.transaction():
        rows = await conn.fetch(_CLAIM, limit)
        for row in rows:
            await send(row["iris"], bytes(row["payload"]))
        if rows:
            await conn.execute(_MARK, [r["id"] for r in rows])
    if rows:
        logger.info("relayed %d alert events", len(rows))
    return len(rows)
