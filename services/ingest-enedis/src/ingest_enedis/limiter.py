"""One rate limiter shared by every collection worker of the process.

Enedis counts calls per *application* (5 requests/second, quota Q3, and 10,000
requests/hour, quota Q4), so every worker must draw from the same budget. Each
quota is a sliding window: at most ``limit`` calls in any ``period`` — a sliding
window guarantees the fixed windows the gateway may use are respected too.
After a 429 the gateway tells (or we guess) when to come back: :meth:`pause`
holds every worker until then, and :meth:`refused` widens the shortest window a
little: a 429 despite our own spacing means calls reached the gateway closer
together than we sent them (jitter); the extra margin relaxes again after a run
of calls without refusal.
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
        self._short = min(range(len(self._quotas)), key=lambda i: quotas[i].period)
        self._extra = 0.0
        self._quiet = 0
        self.refusals = 0

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

    JITTER_STEP = 0.01
    """Seconds added to the shortest window per refusal (and removed per quiet run)."""
    JITTER_CAP = 0.25
    """The learnt margin stays below this fraction of the shortest window."""
    QUIET_CALLS = 1000
    """Calls without a refusal after which one step of margin is given back."""

    @property
    def extra_margin(self) -> float:
        """Seconds currently added to the shortest window (learnt from 429s)."""
        return self._extra

    def delay(self, now: float) -> float:
        """Seconds to wait before a call made at ``now`` respects every quota."""
        wait = max(0.0, self._paused_until - now)
        for index, (quota, calls) in enumerate(
            zip(self._quotas, self._calls, strict=True)
        ):
            period = quota.period + (self._extra if index == self._short else 0.0)
            while calls and calls[0] <= now - period:
                calls.popleft()
            if len(calls) >= quota.limit:
                wait = max(wait, calls[0] + period - now)
        return wait

    def usage(self) -> list[float]:
        """Share of each quota used in its window ending now (for metrics)."""
        now = self._clock()
        self.delay(now)  # drops the calls that left their windows
        return [
            len(calls) / quota.limit
            for quota, calls in zip(self._quotas, self._calls, strict=True)
        ]

    def refused(self) -> None:
        """The gateway refused a call we had spaced: widen the shortest window."""
        self.refusals += 1
        self._quiet = 0
        cap = self.JITTER_CAP * self._quotas[self._short].period
        self._extra = min(cap, self._extra + self.JITTER_STEP)

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
                    self._quiet += 1
                    if self._extra and self._quiet >= self.QUIET_CALLS:
                        self._extra = max(0.0, self._extra - self.JITTER_STEP)
                        self._quiet = 0
                    return
                await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Holds every caller for ``seconds`` (after a 429 from the gateway)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
