"""Quoalise proxies as an inbound source: their series stored as the peer's series.

A provider is known by the bare JID its XMPP server stamps; only a provider whose
bare JID is a registered peer's ``jid`` is read from (we must know whose data it
is, and the operator decided to exchange with that peer). What arrives is stored
in ``federation_peer_series`` with the peer, the JID it came from and the time:
Quoalise carries no signature, so the XMPP server's stamp is all the provenance
there is (the README says so). These are individual series: they never feed the
city page's neighbour aggregates and never leave this collective again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from prometheus_client import Counter

from energy_core.errors import PermanentError, TransientError
from energy_core.loops import sleep_or_stop
from federation_gateway.mapping import Received
from federation_gateway.quoalise.payload import Data
from federation_gateway.quoalise.reader import inbound_rows
from federation_gateway.repository import Peer

logger = logging.getLogger(__name__)

INBOUND = Counter(
    "federation_gateway_quoalise_inbound_records_total",
    "Records read from Quoalise proxies and stored, by outcome",
    ["outcome"],
)


class UnknownProviderError(PermanentError):
    """The provider's bare JID is not a registered peer's."""


class History(Protocol):
    """The reader's port (QuoaliseReader)."""

    async def get_history(
        self,
        provider: str,
        identifier: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Data: ...


class InboundStore(Protocol):
    async def peer_by_jid(self, jid: str) -> Peer | None: ...

    async def store_peer_series(
        self, peer_domain: str, source_jid: str, rows: list[Received]
    ) -> int: ...


async def read_into(
    reader: History,
    store: InboundStore,
    *,
    provider: str,
    identifier: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> int:
    """Reads ``identifier`` from ``provider`` over ``[start, end)`` and stores it as
    the registered peer's series; returns how many values were stored."""
    bare = provider.split("/", 1)[0]
    peer = await store.peer_by_jid(bare)
    if peer is None or (peer.revoked_at is not None and peer.revoked_at <= now):
        raise UnknownProviderError(f"{bare} is not a registered peer")
    data = await reader.get_history(provider, identifier, start, end)
    rows = inbound_rows(data, identifier)
    return await store.store_peer_series(peer.domain, bare, rows)


async def run_inbound(
    reader: History,
    store: InboundStore,
    sources: list[dict[str, str]],
    *,
    stop: asyncio.Event,
    interval: float,
    days: int,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Reads every configured source each ``interval`` (stop-aware); one failing
    source is logged and the others still read."""
    while not stop.is_set():
        now = clock()
        for source in sources:
            try:
                count = await read_into(
                    reader,
                    store,
                    provider=source["provider"],
                    identifier=source["identifier"],
                    start=now - timedelta(days=days),
                    end=now,
                    now=now,
                )
                INBOUND.labels("stored").inc(count)
            except (PermanentError, TransientError) as exc:
                INBOUND.labels("failed").inc()
                logger.warning("quoalise inbound read failed (%s)", type(exc).__name__)
        await sleep_or_stop(stop, interval)
