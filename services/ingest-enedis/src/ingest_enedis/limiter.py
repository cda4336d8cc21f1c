"""One rate limiter shared by every collection worker of the process.

Enedis counts calls per *application* (5 requests/second, quota Q3, and 10,000
requests/hour, quota Q4), so every worker must draw from the same budget. Each
quota is a sliding window: at most ``limit`` calls in any ``period`` — a sliding
window guarantees the fixed windows the gateway may use are respected too.
After a 429 the gateway tells (or we guess) when to come back: :meth:`pause`
holds every worker until then.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``limit`` calls in any window of ``period`` seconds."""

    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period <= 0:
            raise ValueError("a quota needs limit >= 1 and period > 0")


class SlidingWindowLimiter:
    """Async limiter enforcing several sliding-window quotas at once."""

    def __init__(
        self,
        quotas: Sequence[Quota],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not quotas:
            raise ValueError("at least one quota")
        self._quotas = tuple(quotas)
        # one deque per quota, holding at most ``limit`` recent call times: O(1)
        self._calls: tuple[deque[float], ...] = tuple(deque() for _ in quotas)
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._paused_until = 0.0
        self.acquired = 0

    @classmethod
    def per_second_and_hour(
        cls,
        per_second: float,
        per_hour: float,
        *,
        time_scale: float = 1.0,
        margin_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> SlidingWindowLimiter:
        """The Enedis shape; ``time_scale`` > 1 shrinks both periods (benchmarks).

        ``margin_s`` (not scaled: it covers network jitter, which time scaling
        does not shrink) is added to each window, so that calls spaced by exactly
        one window here do not reach the gateway a few ms closer together.
        """
        return cls(
            [
                Quota(max(1, round(per_second)), 1.0 / time_scale + margin_s),
                Quota(max(1, round(per_hour)), 3600.0 / time_scale + margin_s),
            ],
            clock=clock,
            sleep=sleep,
        )

    def delay(self, now: float) -> float:
        """Seconds to wait before a call made at ``now`` respects every quota."""
        wait = max(0.0, self._paused_until - now)
        for quota, calls in zip(self._quotas, self._calls, strict=True):
            while calls and calls[0] <= now - quota.period:
                calls.popleft()
            if len(calls) >= quota.limit:
                wait = max(wait, calls[0] + quota.period - now)
        return wait

    async def acquire(self) -> None:
        """Waits until a call is allowed, then records it."""
        async with self._lock:
            while True:
                now = self._clock()
                wait = self.delay(now)
                if wait <= 0:
                    for calls in self._calls:
                        calls.append(now)
                    self.acquired += 1
                    return
                await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Holds every caller for ``seconds`` (after a 429 from the gateway)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
