"""The relay loop: drain the territory outbox to the compacted topic, measured.

Only wiring: it is given an :class:`~registry.repository.OutboxPort` and a clock,
builds nothing, and returns promptly when the stop event is set. A large backlog
(the republication at start queues every entity) is drained in batches with a
progress line, so an operator sees the territory topic catching up instead of a
silent process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from energy_core.loops import sleep_or_stop
from registry import metrics
from registry.repository import OutboxPort

SERVICE = "sen1-registry"
logger = logging.getLogger(SERVICE)


class Relay:
    """Drains the outbox: one batch per pass, a pause when it is empty."""

    def __init__(
        self,
        outbox: OutboxPort,
        *,
        interval_s: float,
        batch: int = 5000,
        progress_from: int = 5000,
        progress_every_s: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.outbox = outbox
        self.interval_s = interval_s
        self.batch = batch
        self.progress_from = progress_from
        """A backlog at least this large is a 'drain' with progress lines."""
        self.progress_every_s = progress_every_s
        self.clock = clock
        self._drain: tuple[int, int, float] | None = None  # (total, done, last log)

    async def step(self) -> int:
        """One pass: measure the backlog, relay one batch, log progress; returns relayed."""
        pending, oldest = await self.outbox.backlog()
        metrics.OUTBOX_BACKLOG.set(pending)
        lag = (self.clock() - oldest).total_seconds() if oldest is not None else 0.0
        metrics.RELAY_LAG.set(max(lag, 0.0))
        if self._drain is None and pending >= self.progress_from:
            self._drain = (pending, 0, time.monotonic())
            logger.info("draining %d queued territory changes", pending)
        relayed = await self.outbox.relay_once(self.batch)
        metrics.ENTITIES_PUBLISHED.inc(relayed)
        if self._drain is not None:
            total, done, last = self._drain
            done += relayed
            left = pending - relayed
            now = time.monotonic()
            if left <= 0:
                logger.info("territory outbox drained: %d changes relayed", done)
                self._drain = None
            else:
                if now - last >= self.progress_every_s:
                    logger.info(
                        "relayed %d of %d territory changes (%d left)",
                        done, max(total, done + left), left,
                    )  # fmt: skip
                    last = now
                self._drain = (total, done, last)
        return relayed

    async def run(self, stop: asyncio.Event) -> None:
        """Relays until ``stop`` is set; sleeps ``interval_s`` when there is nothing."""
        while not stop.is_set():
            if not await self.step():
                await sleep_or_stop(stop, self.interval_s)
