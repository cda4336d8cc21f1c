"""The status reporter's arithmetic: calls per Paris day and the current rate."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from energy_core.domain.time import PARIS
from energy_store.ingest_status import Caps, StatusReporter


class Moving:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self) -> Any:
        return self.value


def test_calls_count_per_paris_day_and_rate_per_second() -> None:
    calls, tick = Moving(0.0), Moving(100.0)
    now = Moving(datetime(2026, 3, 28, 23, 59, 50, tzinfo=PARIS))
    reporter = StatusReporter(
        None,  # type: ignore[arg-type] - snapshot() never touches the pool
        "enedis", calls, Caps(per_second=5), clock=tick, now=now,
    )  # fmt: skip
    assert reporter.snapshot() == (date(2026, 3, 28), 0, 0.0)
    calls.value, tick.value = 40.0, 108.0
    assert reporter.snapshot() == (date(2026, 3, 28), 40, 5.0)
    # Midnight in Paris (the night the clocks go forward): a new day from 0.
    now.value += timedelta(seconds=20)
    calls.value, tick.value = 50.0, 110.0
    assert reporter.snapshot() == (date(2026, 3, 29), 0, 5.0)
    calls.value, tick.value = 53.0, 111.0
    assert reporter.snapshot() == (date(2026, 3, 29), 3, 3.0)
    tick.value = 121.0  # idle: the rate falls to zero
    assert reporter.snapshot() == (date(2026, 3, 29), 3, 0.0)


def test_a_utc_clock_still_counts_paris_days() -> None:
    from datetime import UTC

    reporter = StatusReporter(
        None,  # type: ignore[arg-type]
        "grdf", Moving(7.0), Caps(per_day=6000), clock=Moving(1.0),
        now=Moving(datetime(2026, 1, 1, 23, 30, tzinfo=UTC)),
    )  # fmt: skip
    assert reporter.snapshot()[0] == date(2026, 1, 2)  # 00:30 in Paris


class _DownPool:
    """A pool whose database is gone: every acquire fails like a refused socket."""

    def __init__(self) -> None:
        self.tries = 0

    def acquire(self) -> Any:
        self.tries += 1
        raise OSError("connection refused")


async def test_a_database_outage_never_stops_the_collector() -> None:
    import asyncio

    pool = _DownPool()
    reporter = StatusReporter(
        pool,  # type: ignore[arg-type]
        "enedis", Moving(1.0), Caps(per_second=5), every_s=0.01,
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(reporter.run(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 1)  # returns; no exception escapes
    assert pool.tries >= 3  # it kept trying, every ``every_s``
