"""Background loops of the api (alerts consumer, webhook retries) that never die silently.

A loop that raises is logged (type and stack, see ``energy_core.observability``)
and restarted after a backoff that doubles up to a cap; while it is down, its
readiness check is false so ``/readyz`` answers 503 and an orchestrator stops
routing live traffic (SSE, webhooks) to a process that would serve nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import Counter

from energy_core.loops import Backoff, sleep_or_stop

logger = logging.getLogger(__name__)

Loop = Callable[[asyncio.Event, asyncio.Event], Coroutine[Any, Any, None]]
"""``loop(ready, stop)``: sets ``ready`` once it serves, returns when ``stop`` is set."""
RESTARTS = Counter(
    "api_background_restarts_total", "Background loops restarted", ["loop"]
)


class Supervised:
    """Runs one loop until ``stop``, restarting it with backoff whenever it ends early."""

    def __init__(
        self,
        name: str,
        loop: Loop,
        *,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
        healthy_after_s: float = 60.0,
    ) -> None:
        self.name = name
        self._loop = loop
        self._backoff, self._cap = backoff_s, backoff_max_s
        self._healthy_after = healthy_after_s
        self._ready: asyncio.Event | None = None
        self.restarts = 0

    @property
    def up(self) -> bool:
        """True while the loop runs and has said it is ready."""
        return self._ready is not None and self._ready.is_set()

    async def check(self) -> bool:
        """The readiness check (``Health.add_check``)."""
        return self.up

    async def run(self, stop: asyncio.Event) -> None:
        """Keeps the loop running until ``stop``; never raises (but on cancel)."""
        policy = Backoff(self._backoff, max(self._backoff, self._cap))
        failures = 0
        while not stop.is_set():
            delay = policy.delay(failures + 1)
            ready = asyncio.Event()
            self._ready = ready
            began = time.monotonic()
            try:
                await self._loop(ready, stop)
            except Exception:
                logger.exception("%s failed; restarting in %.1f s", self.name, delay)
            else:
                if stop.is_set():
                    break
                logger.error(
                    "%s returned on its own; restarting in %.1f s", self.name, delay
                )
            finally:
                self._ready = None
            if time.monotonic() - began >= self._healthy_after:
                failures = 0  # it served a while: a fresh failure
                delay = policy.delay(1)
            failures += 1
            self.restarts += 1
            RESTARTS.labels(self.name).inc()
            await sleep_or_stop(stop, delay)
