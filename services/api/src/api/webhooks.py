"""Webhook deliveries of alerts, signed with HMAC-SHA256 and retried with backoff.

Signature header: ``X-SEN1-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256(secret, ``"<t>.<body>"``) — the receiver recomputes it and rejects old
``t`` values (replays). A delivery is recorded per (webhook, event) so a redelivered
Kafka record is not sent twice once delivered.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import asyncpg
import httpx

from energy_core.secrets import SecretBox

logger = logging.getLogger(__name__)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookDispatcher:
    """Sends each alert event to the matching active webhooks."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        box: SecretBox | None,
        client: httpx.AsyncClient,
        *,
        attempts: int,
        backoff_s: float,
    ) -> None:
        self._pool, self._box, self._client = pool, box, client
        self._attempts, self._backoff = attempts, backoff_s

    async def __call__(self, event: dict[str, Any]) -> None:
        """Hub listener: deliver to every subscriber of the event's neighbourhood."""
        if self._box is None:
            return
        key = f"{event['alert_id']}:{event['occurred_at']}:{event['change']}"
        async with self._pool.acquire() as conn:
            hooks = await conn.fetch(
                """SELECT webhook_id, url, secret_sealed FROM api_webhooks
                   WHERE active AND (iris IS NULL OR iris = $1)""",
                event["iris"],
            )
            fresh = []
            for hook in hooks:
                inserted = await conn.fetchval(
                    """INSERT INTO api_webhook_deliveries
                           (webhook_id, event_key, status) VALUES ($1, $2, 'pending')
                       ON CONFLICT DO NOTHING
                       RETURNING webhook_id""",
                    hook["webhook_id"],
                    key,
                )
                if inserted is not None:
                    fresh.append(hook)
        body = json.dumps(event, separators=(",", ":")).encode()
        await asyncio.gather(*(self._deliver(h, key, body) for h in fresh))

    async def _deliver(self, hook: Any, key: str, body: bytes) -> None:
        if self._box is None:
            return
        secret = self._box.open(hook["secret_sealed"])
        error = ""
        for attempt in range(1, self._attempts + 1):
            headers = {
                "content-type": "application/json",
                "x-sen1-signature": sign(secret, body, int(time.time())),
                "x-sen1-event": key,
            }
            try:
                response = await self._client.post(
                    hook["url"], content=body, headers=headers
                )
                if response.status_code < 300:
                    await self._record(
                        hook["webhook_id"], key, attempt, "delivered", ""
                    )
                    return
                error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            await self._record(hook["webhook_id"], key, attempt, "pending", error)
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        logger.warning(
            "webhook delivery failed after %s attempts: %s", self._attempts, error
        )
        await self._record(hook["webhook_id"], key, self._attempts, "failed", error)

    async def _record(
        self, webhook_id: Any, key: str, attempts: int, status: str, error: str
    ) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                """UPDATE api_webhook_deliveries SET attempts = $3, status = $4,
                       last_error = NULLIF($5, ''), updated_at = now()
                   WHERE webhook_id = $1 AND event_key = $2""",
                webhook_id,
                key,
                attempts,
                status,
                error,
            )
