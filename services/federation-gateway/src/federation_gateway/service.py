"""The gateway's background loop: signed pushes to subscribers, and housekeeping
of the nonce store.

Pushes are at least once: a subscription's cursor (a transaction id in the
commit-ordered outbox for rollups and alerts, ``ingested_at`` for a consented
series) moves only after the peer acknowledged every URN's push; a failed
round is retried with :class:`energy_core.loops.Backoff`, and a subscription that
has failed for ``subscription_dead_after_seconds`` expires. Each push carries an
idempotency key (subscription, URN, cursor range, chunk) so the receiver stores it
once.
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
from federation_gateway.egress import AlertItem, IndividualSeries, decide
from federation_gateway.mapping import (
    AggregateUrn,
    IndividualUrn,
    parse_alert_urn,
    parse_urn,
    to_senml,
)
from federation_gateway.outbound import aggregate_records
from federation_gateway.repository import (
    AggregateRow,
    AlertRow,
    Repository,
    Subscription,
)
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
WITHHELD_ALERTS = Counter(
    "federation_gateway_alerts_withheld_total",
    "Alert changes kept in (territory not granted, or too few delivery points)",
)
PUSHED_ALERTS = Counter(
    "federation_gateway_pushed_alerts_total", "Alert changes pushed to subscribers"
)
PUSH_LOG_ROUTE = "push /federation/v1/subscriptions"
"""The route written in the resident's access log for a pushed series."""
BATCH = 500
"""Rollups per push (a push stays well under a peer's body limit)."""
CATCH_UP_LIMIT = 100_000
"""Rollups of one URN a first catch-up reads at most (a year of half-hours is
17,520): a subscription's ``since`` further back than that is cut."""


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
        await self.repository.prune_outbox()

    async def push(self, sub: Subscription) -> None:
        """Pushes what changed, URN by URN; one failure retries the whole
        subscription later (the receiver dedupes by idempotency key).

        Aggregates and alerts follow the outbox (migration 1702): the rows of
        transactions with ids in ``[sub.outbox_xid, horizon)``, the horizon being
        the xmin of a snapshot taken first, so every one of those transactions
        has finished and a late commit is never passed over. A new subscription
        first catches up on rollups changed and alert events since its ``since`` (once every
        writer sees the outbox triggers), then follows the outbox from the
        horizon taken before that catch-up read.
        """
        now = self.clock()
        horizon, ready_after = await self.repository.outbox_horizon()
        if sub.outbox_xid is None and (ready_after is None or horizon < ready_after):
            return  # writers from before the outbox was enabled are still running
        cursor = sub.cursor
        try:
            for text in sub.urns:
                alert = parse_alert_urn(text)
                if alert is not None:
                    if sub.outbox_xid is None:  # catch-up: events since `since`
                        changed = await self.repository.alerts_since(
                            alert.iris, sub.cursor
                        )
                        tag = f"since {sub.cursor.isoformat()} to {horizon}"
                    else:
                        changed = await self.repository.alert_changes(
                            alert.iris, sub.outbox_xid, horizon
                        )
                        tag = f"xid {sub.outbox_xid} to {horizon}"
                    await self._alerts(sub, alert.iris, changed, tag, now)
                    continue
                urn = parse_urn(text)
                if isinstance(urn, IndividualUrn):
                    cursor = max(cursor, await self._series(sub, urn, now))
                    continue
                if sub.outbox_xid is None:
                    changes = await self.repository.aggregate_changes(
                        urn, sub.cursor, CATCH_UP_LIMIT
                    )
                    rows = [row for row, _ in changes]
                    tag = f"since {sub.cursor.isoformat()} to {horizon}"
                else:
                    rows = await self.repository.outbox_changes(
                        urn, sub.outbox_xid, horizon
                    )
                    tag = f"xid {sub.outbox_xid} to {horizon}"
                await self._aggregates(sub, text, urn, rows, tag, now)
        except (TransientError, PermanentError) as exc:
            await self._failed(sub, now, exc)
            return
        await self.repository.pushed(sub.subscription_id, cursor, horizon)
        PUSHES.labels("ok").inc()

    async def _aggregates(
        self,
        sub: Subscription,
        text: str,
        urn: AggregateUrn,
        rows: list[AggregateRow],
        tag: str,
        now: datetime,
    ) -> None:
        """The rows that may leave (egress.decide at push time), in signed
        chunks of BATCH records, each with its own idempotency key."""
        for n, chunk in enumerate(range(0, len(rows), BATCH)):
            records, _ = aggregate_records(
                sub.peer.grant,
                urn,
                rows[chunk : chunk + BATCH],
                rule=self.rule,
                now=now,
            )
            if not records:
                continue
            key = hashlib.sha256(
                f"{sub.subscription_id}|{text}|{tag}|{n}".encode()
            ).hexdigest()
            await self.poster.post(
                sub.callback_url, {"idempotency_key": key, "records": records}
            )
            PUSHED_RECORDS.inc(len(records))

    async def _alerts(
        self,
        sub: Subscription,
        iris: str,
        changed: list[AlertRow],
        tag: str,
        now: datetime,
    ) -> None:
        """Alert changes of one neighbourhood, each decided (grant, delivery
        points) at push time; level and change only, no load figure."""
        alerts = []
        for a in changed:
            item = AlertItem(a.iris, a.commune, a.delivery_points)
            if not decide(sub.peer.grant, item, rule=self.rule, now=now).allowed:
                WITHHELD_ALERTS.inc()
                continue
            alerts.append(
                {
                    "urn": f"urn:sen1:iris:{a.iris}_alerts",
                    "alert_id": a.alert_id,
                    "occurred_at": a.occurred_at.isoformat(),
                    "change": a.change,
                    "level": a.level,
                    "previous_level": a.previous_level,
                    "capacity_kw": a.capacity_kw,
                }
            )
        for n, chunk in enumerate(range(0, len(alerts), BATCH)):
            key = hashlib.sha256(
                f"{sub.subscription_id}|alerts {iris}|{tag}|{n}".encode()
            ).hexdigest()
            await self.poster.post(
                sub.callback_url,
                {
                    "idempotency_key": key,
                    "records": [],
                    "alerts": alerts[chunk : chunk + BATCH],
                },
            )
            PUSHED_ALERTS.inc(len(alerts[chunk : chunk + BATCH]))

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
