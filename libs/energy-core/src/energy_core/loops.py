"""The two things every long-running loop of SEN1 needs: a sleep that wakes on stop,
and one backoff policy.

``sleep_or_stop`` uses :func:`asyncio.timeout`, not :func:`asyncio.wait_for`: on
Python 3.11, ``wait_for`` may swallow a cancellation that arrives just as the inner
wait completes (CPython gh-86296, fixed in 3.12 by reimplementing it on
``asyncio.timeout``), so a task cancelled at shutdown could keep looping. With
``asyncio.timeout`` a cancellation always propagates.

``Backoff`` is the retry delay of every loop (HTTP retries, reconnects, database
retries): exponential from ``base_s``, capped at ``max_s``, optionally with full
jitter (a uniform draw in ``[0, delay]``, so that workers refused together do not
come back together). An upstream that says when to come back (``retry_after``)
is believed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleeps ``seconds`` or until ``stop`` is set; True if ``stop`` is set.

    A cancellation of the caller propagates (see the module docstring).
    """
    if seconds > 0 and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stop.wait()
    return stop.is_set()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry number ``attempt`` (1 after the first failure).

    ``delay(n) = min(max_s, base_s * factor ** (n - 1))``; with ``jitter`` a uniform
    draw in ``[0, delay(n)]`` (full jitter). ``retry_after``, when an upstream gave
    one, replaces the computed delay (it is not capped: the upstream knows).
    """

    base_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: bool = False

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.max_s < self.base_s or self.factor < 1:
            raise ValueError("a backoff needs 0 <= base_s <= max_s and factor >= 1")

    def cap(self, attempt: int) -> float:
        """The longest delay of retry ``attempt`` (the exact delay without jitter)."""
        if attempt < 1:
            return 0.0
        # cap the exponent so a long outage never overflows a float
        exponent = min(attempt - 1, 1024)
        try:
            return min(self.max_s, self.base_s * self.factor**exponent)
        except OverflowError:
            return self.max_s

    def delay(
        self,
        attempt: int,
        *,
        retry_after: float | None = None,
        draw: Callable[[float, float], float] = random.uniform,
    ) -> float:
        """Seconds to wait before retry ``attempt``."""
        if retry_after is not None and retry_after > 0:
            return retry_after
        cap = self.cap(attempt)
        return draw(0.0, cap) if self.jitter else cap
