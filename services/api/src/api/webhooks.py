"""Webhook deliveries of alerts, signed with HMAC-SHA256 and retried with backoff.

Signature header: ``X-SEN1-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256(secret, ``"<t>.<body>"``) — the receiver recomputes it and rejects old
``t`` values (replays). A delivery is recorded per (webhook, event) so a redelivered
Kafka record is not sent twice once delivered. Deliveries are owed at least once:
a process that dies mid-delivery leaves a lease that runs out, and any api process
then resends the stored body (migration ``1302_api_webhooks_hardening``). The
client given connects through ``api.netguard`` (no internal targets).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import time
from typing import Any

import asyncpg
import httpx

from api.netguard import REFUSED
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.secrets import SecretBox, SecretBoxError

logger = logging.getLogger(__name__)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookDispatcher:
    """Sends each alert event to the matching active webhooks, at least once.

    The signed body is stored with the delivery row before the first attempt, and
    the sender holds a lease on the row while it tries. If the process dies, the
    lease runs out and :meth:`retry_due` (run by every api process, see
    :meth:`run`) sends the same body again, with the attempts and backoff left.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        box: SecretBox | None,
        client: httpx.AsyncClient,
        *,
        attempts: int,
        backoff_s: float,
        lease_s: float = 60.0,
        retry_every_s: float = 5.0,
    ) -> None:
        self._pool, self._box, self._client = pool, box, client
        self._attempts, self._backoff = attempts, backoff_s
        self._policy = Backoff(backoff_s, math.inf)  # doubles, no cap (few attempts)
        self._lease, self._every = lease_s, retry_every_s

    async def __call__(self, event: dict[str, Any]) -> None:
        """Hub listener: deliver to every subscriber of the event's neighbourhood."""
        if self._box is None:
            return
        key = f"{event['alert_id']}:{event['occurred_at']}:{event['change']}"
        body = json.dumps(event, separators=(",", ":"))
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
                           (webhook_id, event_key, status, payload, lease_until)
                       VALUES ($1, $2, 'pending', $3,
                               now() + make_interval(secs => $4))
                       ON CONFLICT DO NOTHING
                       RETURNING webhook_id""",
                    hook["webhook_id"],
                    key,
                    body,
                    self._lease,
                )
                if inserted is not None:
                    fresh.append(hook)
        await asyncio.gather(*(self._deliver(h, key, body.encode(), 1) for h in fresh))

    async def retry_due(self, limit: int = 50) -> int:
        """Takes over pending deliveries whose sender's lease ran out; returns how many.

        ``FOR UPDATE SKIP LOCKED`` and the new lease make two api processes never
        take the same delivery at once.
        """
        if self._box is None:
            return 0
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                """WITH due AS (
                       SELECT webhook_id, event_key FROM api_webhook_deliveries
                       WHERE status = 'pending' AND next_attempt_at <= now()
                         AND (lease_until IS NULL OR lease_until < now())
                       ORDER BY next_attempt_at LIMIT $2
                       FOR UPDATE SKIP LOCKED)
                   UPDATE api_webhook_deliveries d
                   SET lease_until = now() + make_interval(secs => $1)
                   FROM due, api_webhooks w
                   WHERE d.webhook_id = due.webhook_id
                     AND d.event_key = due.event_key
                     AND w.webhook_id = d.webhook_id
                   RETURNING d.webhook_id, d.event_key, d.payload, d.attempts,
                             w.url, w.secret_sealed, w.active""",
                self._lease,
                limit,
            )
        jobs = []
        for row in rows:
            if not row["active"] or row["attempts"] >= self._attempts:
                why = "webhook inactive" if not row["active"] else "no attempts left"
                await self._record(
                    row["webhook_id"], row["event_key"], row["attempts"], "failed", why
                )
                continue
            jobs.append(
                self._deliver(
                    row,
                    row["event_key"],
                    row["payload"].encode(),
                    row["attempts"] + 1,
                    once=True,
                )
            )
        for outcome in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(outcome, Exception):  # one bad row never stops the others
                logger.error("webhook retry failed", exc_info=outcome)
        return len(rows)

    async def run(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        """The retry loop (supervised by the api): :meth:`retry_due` every few seconds."""
        ready.set()
        while not stop.is_set():
            await self.retry_due()
            await sleep_or_stop(stop, self._every)

    async def _deliver(
        self, hook: Any, key: str, body: bytes, first: int, *, once: bool = False
    ) -> None:
        """Attempts ``first``… until delivered or out of attempts.

        ``once`` (the retry loop): one attempt, then the row is left due at its next
        attempt with no lease, so the loop never sleeps through one delivery's
        backoff while others wait.
        """
        if self._box is None:
            return
        try:
            secret = self._box.open(hook["secret_sealed"])
        except SecretBoxError:  # sealed under a key no longer configured
            await self._record(
                hook["webhook_id"], key, first - 1, "failed", "secret cannot be opened"
            )
            return
        error = ""
        for attempt in range(first, self._attempts + 1):
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
                refused = str(exc).startswith(REFUSED)
                error = str(exc) if refused else type(exc).__name__
            if attempt == self._attempts:
                break
            delay = self._policy.delay(attempt)
            await self._record(
                hook["webhook_id"], key, attempt, "pending", error, delay, hold=not once
            )
            if once:
                return
            await asyncio.sleep(delay)
        logger.warning(
            "webhook delivery failed after %s attempts: %s", self._attempts, error
        )
        await self._record(hook["webhook_id"], key, self._attempts, "failed", error)

    async def _record(
        self,
        webhook_id: Any,
        key: str,
        attempts: int,
        status: str,
        error: str,
        delay_s: float = 0.0,
        *,
        hold: bool = True,
    ) -> None:
        """Stores the outcome; a pending row keeps its body, and our lease past the
        wait when we ``hold`` it (we will try again ourselves)."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                """UPDATE api_webhook_deliveries SET attempts = $3, status = $4,
                       last_error = NULLIF($5, ''), updated_at = now(),
                       payload = CASE WHEN $4 = 'pending' THEN payload END,
                       next_attempt_at = now() + make_interval(secs => $6),
                       lease_until = CASE WHEN $4 = 'pending' AND $8
                           THEN now() + make_interval(secs => $6 + $7) END
                   WHERE webhook_id = $1 AND event_key = $2""",
                webhook_id,
                key,
                attempts,
                status,
                error,
                delay_s,
                self._lease,
                hold,
            )
