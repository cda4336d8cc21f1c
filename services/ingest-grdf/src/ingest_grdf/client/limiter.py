"""One limiter for every worker: ADICT's 1 call/s and its daily cap.

Both quotas belong to the application, not to a connection: every request of
every worker goes through the same :class:`QuotaLimiter`. Calls are spaced by
``1 / rate`` seconds (a rolling second on GRDF's side, so spacing rather than
bursts), and counted per Paris calendar day; when the day's cap is used the
limiter says how long until the next Paris midnight.

Several processes (replicas, a restart the same day) share one application
quota: given a :class:`QuotaStore` (ingest-grdf's PostgreSQL row per Paris day),
the count and the next free slot are taken from it atomically, so the cap and
the spacing hold across every worker of every process; without one (unit tests,
the benchmark's single process) they are kept in memory.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from energy_core.domain.time import PARIS, local_midnight
from energy_core.errors import TransientError

MIN_MARGIN_S = 0.005
"""The smallest gap kept above ``1/rate`` whatever the time scale."""


class DailyCapReachedError(TransientError):
    """Every call of today's cap is used; ``retry_after`` = seconds to Paris midnight."""


class QuotaStore(Protocol):
    """Where the application's quota is counted when several processes share it."""

    async def take(
        self, day: date, cap: int, spacing_s: float
    ) -> tuple[int, float] | None:
        """One call of ``day``: (calls used so far, seconds to wait for its slot),
        or None when the cap is spent. Atomic across processes."""
        ...

    async def hold(self, day: date, seconds: float) -> None:
        """Nobody's next slot comes before ``seconds`` from now (after a 429)."""
        ...


class QuotaLimiter:
    """Spacing of ``1/rate`` seconds (divided by ``time_scale``) and a daily cap."""

    def __init__(
        self,
        rate_per_s: float,
        daily_cap: int,
        *,
        time_scale: float = 1.0,
        margin_s: float = 0.02,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        store: QuotaStore | None = None,
        max_wait_s: float = 120.0,
    ) -> None:
        # the margin (a call landing early in GRDF's rolling second) is time
        # too: scaled with the quota, so a scaled run keeps real time's ratio to
        # the minimum, but never below 5 ms (network jitter is not scaled)
        self.spacing = 1.0 / rate_per_s / time_scale + max(
            margin_s / time_scale, min(margin_s, MIN_MARGIN_S)
        )
        self.daily_cap = daily_cap
        self._monotonic = monotonic
        self._wall = wall
        self._lock = asyncio.Lock()
        self._next_at = 0.0
        self._day = self._paris_day()
        self.used_today = 0
        self._store = store
        self._holds: set[asyncio.Task[None]] = set()
        self.max_wait_s = max_wait_s
        self.late_s = 0.0
        """Seconds slots were released after their time (the event loop or the
        machine was busy): time lost to the quota, for benchmarks."""
        self.idle_s = 0.0
        """Seconds a free slot waited for a caller (no worker was ready)."""

    def _paris_day(self) -> str:
        return self._wall().astimezone(PARIS).date().isoformat()

    async def acquire(self) -> None:
        """Waits for this call's slot; raises when today's cap is spent."""
        if self._store is not None:
            await self._acquire_shared(self._store)
            return
        async with self._lock:
            day = self._paris_day()
            if day != self._day:
                self._day, self.used_today = day, 0
            if self.used_today >= self.daily_cap:
                raise DailyCapReachedError(
                    "ADICT daily cap reached",
                    retry_after=max(1.0, seconds_to_paris_midnight(self._wall())),
                )
            target = self._next_at
            wait = target - self._monotonic()
            self._no_long_wait(wait)
            if wait > 0:
                await asyncio.sleep(wait)
            elif self.used_today:
                self.idle_s -= wait
            now = self._monotonic()
            if wait > 0:
                self.late_s += now - target
            self._next_at = now + self.spacing
            self.used_today += 1

    async def _acquire_shared(self, store: QuotaStore) -> None:
        day = self._wall().astimezone(PARIS).date()
        taken = await store.take(day, self.daily_cap, self.spacing)
        if taken is None:
            self.used_today = self.daily_cap
            raise DailyCapReachedError(
                "ADICT daily cap reached",
                retry_after=max(1.0, seconds_to_paris_midnight(self._wall())),
            )
        self.used_today, wait = taken
        wait = max(wait, self._next_at - self._monotonic())  # a 429 seen here
        self._no_long_wait(wait)
        if wait > 0:
            await asyncio.sleep(wait)

    def _no_long_wait(self, wait: float) -> None:
        """A hold longer than ``max_wait_s`` (GRDF said its day is spent) is not
        slept through inside a call: the caller defers its work instead."""
        if wait > self.max_wait_s:
            raise DailyCapReachedError("ADICT asked to wait", retry_after=wait)

    def pause(self, seconds: float) -> None:
        """Nobody calls for ``seconds`` (all workers, of every process when the
        quota is shared): a 429 whose ``Retry-After`` says no call can pass
        before (a spent day), not an ordinary 429 of one early call."""
        self._next_at = max(self._next_at, self._monotonic() + seconds)
        if self._store is not None:
            day = self._wall().astimezone(PARIS).date()
            task = asyncio.get_running_loop().create_task(
                self._store.hold(day, seconds)
            )
            self._holds.add(task)
            task.add_done_callback(self._holds.discard)

    @property
    def used_ratio(self) -> float:
        """Share of today's cap used."""
        return self.used_today / self.daily_cap


def quiet_gc() -> None:
    """Keeps the cyclic garbage collector from stalling the event loop.

    A backfill call brings ~1 MB of JSON (tens of thousands of dicts, freed by
    reference counting: they hold no cycles). With the default thresholds the
    collector runs every 700 allocations and its full passes over that heap
    stalled the loop for up to ~0.4 s in the benchmark, so quota slots were
    released late (time the 1 call/s quota never gives back). Objects alive at
    start are frozen out of the collections and collections are made rarer;
    cycles are still collected.
    """
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def seconds_to_paris_midnight(now: datetime) -> float:
    """Seconds from ``now`` to the next Paris midnight (when the daily cap resets)."""
    paris_day = now.astimezone(PARIS).date()
    return (local_midnight(paris_day + timedelta(days=1)) - now).total_seconds()
