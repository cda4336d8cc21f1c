"""The gateway's background loop: signed pushes to subscribers, and housekeeping
of the nonce store.

Pushes are at least once: a subscription's cursor (the ``updated_at`` of the newest
rollup sent) moves only after the peer acknowledged every URN's push; a failed
round is retried with :class:`energy_core.loops.Backoff`, and a subscription that
has failed for ``subscription_dead_after_seconds`` expires. Each push carries an
idempotency key (subscription, URN, cursor range) so the receiver stores it once.
Every record passes :func:`federation_gateway.egress.decide` at push time: a peer
revoked or a grant narrowed stops the very next push.

Stop-aware: returns promptly when ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from prometheus_client import Counter

from energy_core.errors import PermanentError, TransientError
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.privacy import SecrecyRule
from federation_gateway.egress import IndividualSeries, decide
from federation_gateway.mapping import IndividualUrn, parse_urn, to_senml
from federation_gateway.outbound import aggregate_records
from federation_gateway.repository import Repository, Subscription
from federation_gateway.settings import Settings

logger = logging.getLogger(__name__)
SERVICE = "federation-gateway"

NONCES_PRUNED = Counter(
    "federation_gateway_nonces_pruned_total", "Expired nonces removed from the store"
)
PUSHES = Counter(
    "federation_gateway_pushes_total", "Pushes to subscribers by outcome", ["outcome"]
)
PUSHED_RECORDS = Counter(
    "federation_gateway_pushed_records_total", "SenML records pushed to subscribers"
)
EXPIRED = Counter(
    "federation_gateway_subscriptions_expired_total",
    "Subscriptions expired after failing for too long",
)
WITHHELD_PUSHES = Counter(
    "federation_gateway_series_pushes_withheld_total",
    "Pushes of an individual series kept in (no live consent for that peer)",
)
PUSH_LOG_ROUTE = "push /federation/v1/subscriptions"
"""The route written in the resident's access log for a pushed series."""
BATCH = 500
"""Rollups per URN per push (a push stays well under a peer's body limit)."""


class Poster(Protocol):
    """The signed HTTP client port (client.PeerClient)."""

    async def post(self, url: str, payload: object) -> object: ...


class Gateway:
    """The loop beside the HTTP binding."""

    def __init__(
        self,
        settings: Settings,
        repository: Repository,
        poster: Poster,
        rule: SecrecyRule,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.poster = poster
        self.rule = rule
        self.clock = clock
        self.backoff = Backoff(
            settings.push_retry_base_seconds, settings.push_retry_max_seconds
        )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.round()
            await sleep_or_stop(stop, self.settings.push_interval_seconds)

    async def round(self) -> None:
        """One pass: every due subscription, then expired nonces."""
        for sub in await self.repository.due_subscriptions(self.clock()):
            await self.push(sub)
        NONCES_PRUNED.inc(await self.repository.forget_expired_nonces(self.clock()))

    async def push(self, sub: Subscription) -> None:
        """Pushes what changed since the cursor, URN by URN; one failure retries
        the whole subscription later (the receiver dedupes by idempotency key)."""
        now = self.clock()
        cursor = sub.cursor
        try:
            for text in sub.urns:
                urn = parse_urn(text)
                if isinstance(urn, IndividualUrn):
                    cursor = max(cursor, await self._series(sub, urn, now))
                    continue
                changes = await self.repository.aggregate_changes(
                    urn, sub.cursor, BATCH
                )
                if not changes:
                    continue
                top = max(updated for _, updated in changes)
                records, _ = aggregate_records(
                    sub.peer.grant,
                    urn,
                    [row for row, _ in changes],
                    rule=self.rule,
                    now=now,
                )
                if records:
                    key = hashlib.sha256(
                        f"{sub.subscription_id}|{text}|{sub.cursor.isoformat()}"
                        f"|{top.isoformat()}".encode()
                    ).hexdigest()
                    await self.poster.post(
                        sub.callback_url, {"idempotency_key": key, "records": records}
                    )
                    PUSHED_RECORDS.inc(len(records))
                cursor = max(cursor, top)
        except (TransientError, PermanentError) as exc:
            await self._failed(sub, now, exc)
            return
        await self.repository.pushed(sub.subscription_id, cursor)
        PUSHES.labels("ok").inc()

    async def _series(
        self, sub: Subscription, urn: IndividualUrn, now: datetime
    ) -> datetime:
        """Pushes new values of a consented series; returns the cursor it reached.

        The consent is read and decided at every push: once it is revoked (or has
        expired, or names another grantee) nothing more is sent, and the values
        ingested meanwhile are passed over, never sent later.
        """
        unit, changes = await self.repository.series_changes(urn.urn, sub.cursor, BATCH)
        if not changes:
            return sub.cursor
        top = max(ingested for _, ingested in changes)
        values = [point for point, _ in changes]
        start = min(p.start for p in values)
        end = max(p.start for p in values) + timedelta(seconds=1)
        consent = await self.repository.consent_for(urn.meter_id, sub.peer.domain)
        item = IndividualSeries(urn.meter_id, start, end, consent)
        decision = decide(sub.peer.grant, item, rule=self.rule, now=now)
        if not decision.allowed or consent is None:
            WITHHELD_PUSHES.inc()
            return top
        key = hashlib.sha256(
            f"{sub.subscription_id}|{urn.urn}|{sub.cursor.isoformat()}"
            f"|{top.isoformat()}".encode()
        ).hexdigest()
        records = to_senml(urn.urn, unit, values)
        await self.poster.post(
            sub.callback_url, {"idempotency_key": key, "records": records}
        )
        await self.repository.log_access(consent, PUSH_LOG_ROUTE)
        PUSHED_RECORDS.inc(len(records))
        return top

    async def _failed(self, sub: Subscription, now: datetime, exc: Exception) -> None:
        attempts = sub.attempts + 1
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        delay = self.backoff.delay(attempts, retry_after=retry_after)
        since = sub.failing_since or now
        dead = now - since >= timedelta(
            seconds=self.settings.subscription_dead_after_seconds
        )
        await self.repository.push_failed(
            sub.subscription_id, now, now + timedelta(seconds=delay), dead
        )
        PUSHES.labels("failed").inc()
        if dead:
            EXPIRED.inc()
        logger.warning(
            "push to %s failed (%s, attempt %d)%s",
            sub.peer.domain,
            type(exc).__name__,
            attempts,
            "; subscription expired" if dead else "",
        )
