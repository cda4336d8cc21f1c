"""A collector's quota use and backlog, written to ``ingest_status`` every few seconds.

Why a row and not the metrics: the api (the operator page) reads PostgreSQL, not
each service's ``/metrics``. Why every few seconds and not per call: a write per
upstream call would double the database traffic of a backfill for a number the
page reads once a minute.

A collector gives a :class:`StatusReporter` a function returning its calls so far
(a monotonic count the service already keeps: a limiter's acquisitions, a
Prometheus counter), its caps, and optionally a backlog function and the calls
of its current hour window (when an hourly quota binds); ``run`` then
upserts its row (source, this process, the Paris day) every ``every_s`` seconds.
Calls made between the last report of a day and midnight are counted in the next
day (at most ``every_s`` seconds of calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from energy_core.domain.time import PARIS

logger = logging.getLogger(__name__)

KEEP_DAYS = 8
"""Rows of older days are deleted by the reporters (the page shows today)."""


@dataclass(frozen=True, slots=True)
class Caps:
    """The upstream quotas a collector enforces (None: no such quota)."""

    per_second: float | None = None
    per_hour: int | None = None
    per_day: int | None = None


def instance_name() -> str:
    """This process, as a row key: host and pid (a restart writes a new row)."""
    return f"{socket.gethostname()}-{os.getpid()}"


class StatusReporter:
    """Upserts one collector process's status row at most every ``every_s`` seconds."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        source: str,
        calls: Callable[[], float],
        caps: Caps,
        *,
        backlog: Callable[[], float | None] | None = None,
        backlog_unit: str | None = None,
        last_hour: Callable[[], int] | None = None,
        every_s: float = 5.0,
        instance: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(PARIS),
    ) -> None:
        self._pool = pool
        self.source = source
        self._calls = calls
        self.caps = caps
        self._backlog = backlog
        self._backlog_unit = backlog_unit
        self._last_hour = last_hour
        self.every_s = every_s
        self.instance = instance or instance_name()
        self._clock = clock
        self.now = now
        """The wall clock whose Paris day the calls are counted in."""
        self._day: date | None = None
        self._day_base = 0.0
        self._origin = float(calls())
        """Calls counted before this reporter existed are not today's use by it
        (a counter shared by the whole process, as in tests, starts above 0)."""
        self._last: tuple[float, float] | None = None  # (clock, calls)

    def snapshot(self) -> tuple[date, int, float]:
        """(Paris day, calls today, calls per second since the last snapshot)."""
        at = self.now().astimezone(PARIS)
        calls = float(self._calls())
        tick = self._clock()
        if self._day != at.date():
            self._day, self._day_base = (
                at.date(),
                (calls if self._day else self._origin),
            )
        rate = 0.0
        if self._last is not None and tick > self._last[0]:
            rate = max(0.0, (calls - self._last[1]) / (tick - self._last[0]))
        self._last = (tick, calls)
        return at.date(), int(calls - self._day_base), rate

    async def report_once(self) -> None:
        """Writes the row now (and prunes days older than :data:`KEEP_DAYS`)."""
        day, calls_today, rate = self.snapshot()
        backlog = self._backlog() if self._backlog else None
        last_hour = self._last_hour() if self._last_hour else None
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO ingest_status AS s (source, instance, day, calls_today,
                       rate_per_s, cap_per_s, cap_per_hour, cap_per_day, backlog,
                       backlog_unit, calls_last_hour, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
                   ON CONFLICT (source, day, instance) DO UPDATE SET
                       calls_today = excluded.calls_today,
                       rate_per_s = excluded.rate_per_s,
                       cap_per_s = excluded.cap_per_s,
                       cap_per_hour = excluded.cap_per_hour,
                       cap_per_day = excluded.cap_per_day,
                       backlog = excluded.backlog,
                       backlog_unit = excluded.backlog_unit,
                       calls_last_hour = excluded.calls_last_hour,
                       updated_at = excluded.updated_at""",
                self.source, self.instance, day, calls_today, rate,
                self.caps.per_second, self.caps.per_hour, self.caps.per_day,
                backlog, self._backlog_unit, last_hour,
            )  # fmt: skip
            await conn.execute(
                "DELETE FROM ingest_status WHERE source = $1 AND day < $2::date - $3::int",
                self.source, day, KEEP_DAYS,
            )  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        """Reports every ``every_s`` seconds until ``stop``; a database error is
        logged and the next report tries again (the collector never stops for it)."""
        while not stop.is_set():
            try:
                await self.report_once()
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                logger.warning("ingest status not written; next try in %.0f s",
                               self.every_s, exc_info=True)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every_s)
        try:  # the last figures, so the page does not show a stale rate
            await self.report_once()
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            logger.warning("last ingest status not written", exc_info=True)
