"""Stop-aware sleep and the one backoff policy."""

import asyncio
import time

import pytest

from energy_core.loops import Backoff, sleep_or_stop


async def test_sleep_wakes_as_soon_as_stop_is_set() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    began = time.monotonic()
    assert await sleep_or_stop(stop, 30.0) is True
    assert time.monotonic() - began < 1.0


async def test_sleep_times_out_without_stop() -> None:
    stop = asyncio.Event()
    began = time.monotonic()
    assert await sleep_or_stop(stop, 0.05) is False
    assert time.monotonic() - began >= 0.04


async def test_sleep_returns_at_once_when_already_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    began = time.monotonic()
    assert await sleep_or_stop(stop, 30.0) is True
    assert time.monotonic() - began < 0.5


async def test_cancelling_a_sleeper_propagates() -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(sleep_or_stop(stop, 30.0))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = Backoff(base_s=0.5, max_s=4.0)
    assert [policy.delay(n) for n in range(0, 7)] == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay(10_000) == 4.0  # a long outage never overflows


def test_full_jitter_stays_within_zero_and_the_cap() -> None:
    policy = Backoff(base_s=1.0, max_s=8.0, jitter=True)
    draws = [policy.delay(n) for n in range(1, 8) for _ in range(50)]
    assert all(0.0 <= d <= 8.0 for d in draws)
    assert len(set(draws)) > 10  # really random, not the cap
    assert policy.delay(3, draw=lambda lo, hi: hi) == 4.0
    assert policy.delay(3, draw=lambda lo, hi: lo) == 0.0


def test_retry_after_from_upstream_wins() -> None:
    policy = Backoff(base_s=1.0, max_s=2.0, jitter=True)
    assert policy.delay(1, retry_after=90.0) == 90.0
    assert policy.delay(1, retry_after=0.0, draw=lambda lo, hi: hi) == 1.0


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(base_s=5.0, max_s=1.0)
    with pytest.raises(ValueError, match="backoff"):
        Backoff(factor=0.5)
