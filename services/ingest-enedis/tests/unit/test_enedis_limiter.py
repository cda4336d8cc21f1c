"""The shared limiter: both sliding windows, pauses, concurrency."""

import asyncio

import pytest

from ingest_enedis.limiter import Quota, SlidingWindowLimiter


class _Time:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_per_second_and_per_hour_quotas_are_both_enforced():
    t = _Time()
    limiter = SlidingWindowLimiter(
        [Quota(5, 1.0), Quota(12, 3600.0)], clock=t.clock, sleep=t.sleep
    )
    stamps = []
    for _ in range(13):
        await limiter.acquire()
        stamps.append(t.now)
    assert stamps[:5] == [0.0] * 5
    assert stamps[5:10] == [1.0] * 5  # the sixth waits for the 1-second window
    assert stamps[10:12] == [2.0] * 2
    assert stamps[12] == pytest.approx(3600.0)  # the 13th waits for the hourly window
    assert limiter.acquired == 13


async def test_pause_holds_every_caller():
    t = _Time()
    limiter = SlidingWindowLimiter([Quota(100, 1.0)], clock=t.clock, sleep=t.sleep)
    limiter.pause(30.0)
    await limiter.acquire()
    assert t.now == pytest.approx(30.0)


async def test_concurrent_workers_share_one_budget():
    limiter = SlidingWindowLimiter.per_second_and_hour(50, 10_000_000, time_scale=10)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.gather(*(limiter.acquire() for _ in range(150)))
    # 50 per 0.1 s: the last 50 wait two windows
    assert loop.time() - began >= 0.19


async def test_margin_widens_every_window_unscaled():
    t = _Time()
    limiter = SlidingWindowLimiter.per_second_and_hour(
        2, 3, time_scale=10, margin_s=0.02, clock=t.clock, sleep=t.sleep
    )
    for _ in range(4):
        await limiter.acquire()
    # two per 0.1 s + 20 ms, three per 360 s + 20 ms: the fourth waits the hour
    assert t.now == pytest.approx(360.02)
    assert t.sleeps[0] == pytest.approx(0.12)


async def test_refusals_widen_the_short_window_then_relax():
    t = _Time()
    limiter = SlidingWindowLimiter(
        [Quota(5, 1.0), Quota(10_000, 3600.0)], clock=t.clock, sleep=t.sleep
    )
    limiter.refused()
    limiter.refused()
    for _ in range(6):
        await limiter.acquire()
    assert t.now == pytest.approx(1.02)  # 1 s + two steps of learnt jitter
    for _ in range(100):
        limiter.refused()
    assert limiter.extra_margin == pytest.approx(0.25)  # capped: 25 % of 1 s
    limiter.QUIET_CALLS = 3
    for _ in range(3):
        await limiter.acquire()
    assert limiter.extra_margin == pytest.approx(0.24)  # a quiet run gives back


def test_invalid_quota():
    with pytest.raises(ValueError, match="limit"):
        Quota(0, 1.0)
