"""The gateway's background loop: housekeeping of the nonce store (pushes to
subscribers are added here as they land).

Stop-aware: returns promptly when ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import Counter

from energy_core.loops import sleep_or_stop
from federation_gateway.repository import Repository
from federation_gateway.settings import Settings

logger = logging.getLogger(__name__)
SERVICE = "federation-gateway"

NONCES_PRUNED = Counter(
    "federation_gateway_nonces_pruned_total", "Expired nonces removed from the store"
)


class Gateway:
    """The loop beside the HTTP binding."""

    def __init__(
        self,
        settings: Settings,
        repository: Repository,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            NONCES_PRUNED.inc(await self.repository.forget_expired_nonces(self.clock()))
            await sleep_or_stop(stop, self.settings.push_interval_seconds)
