"""The relay loop against an in-memory outbox: metrics, progress lines, stop."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from registry import metrics
from registry.service import Relay

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


class FakeOutbox:
    """Pending changes as a counter; each relay pass takes up to ``limit``."""

    def __init__(self, pending: int, oldest_age_s: float = 0.0) -> None:
        self.pending = pending
        self.oldest_age_s = oldest_age_s
        self.published = 0
        self.calls = 0

    async def relay_once(self, limit: int) -> int:
        self.calls += 1
        n = min(limit, self.pending)
        self.pending -= n
        self.published += n
        return n

    async def backlog(self) -> tuple[int, datetime | None]:
        if not self.pending:
            return 0, None
        return self.pending, NOW - timedelta(seconds=self.oldest_age_s)

    async def ping(self) -> bool:
        return True


async def test_a_step_measures_backlog_lag_and_published() -> None:
    outbox = FakeOutbox(pending=7, oldest_age_s=42.0)
    relay = Relay(outbox, interval_s=0.01, batch=5, clock=lambda: NOW)
    before = metrics.ENTITIES_PUBLISHED._value.get()
    assert await relay.step() == 5
    assert metrics.OUTBOX_BACKLOG._value.get() == 7  # measured before the batch
    assert metrics.RELAY_LAG._value.get() == 42.0
    assert await relay.step() == 2
    assert await relay.step() == 0
    assert metrics.OUTBOX_BACKLOG._value.get() == 0
    assert metrics.RELAY_LAG._value.get() == 0.0
    assert metrics.ENTITIES_PUBLISHED._value.get() - before == 7


async def test_a_large_backlog_logs_its_drain(caplog: pytest.LogCaptureFixture) -> None:
    outbox = FakeOutbox(pending=12)
    relay = Relay(
        outbox, interval_s=0.01, batch=5, progress_from=10, progress_every_s=0.0,
        clock=lambda: NOW,
    )  # fmt: skip
    with caplog.at_level(logging.INFO, logger="sen1-registry"):
        while await relay.step():
            pass
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "draining 12 queued territory changes"
    assert "relayed 5 of 12 territory changes (7 left)" in lines
    assert lines[-1] == "territory outbox drained: 12 changes relayed"


async def test_a_small_backlog_is_relayed_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = Relay(FakeOutbox(pending=3), interval_s=0.01, progress_from=10)
    with caplog.at_level(logging.INFO, logger="sen1-registry"):
        assert await relay.step() == 3
    assert not [r for r in caplog.records if r.name == "sen1-registry"]


async def test_run_drains_then_returns_promptly_on_stop() -> None:
    outbox = FakeOutbox(pending=11)
    relay = Relay(outbox, interval_s=30.0, batch=4)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    for _ in range(100):  # a handful of passes drain it
        await asyncio.sleep(0)
    assert outbox.pending == 0  # and now it sleeps 30 s on an empty outbox
    stop.set()
    await asyncio.wait_for(task, timeout=1.0)
    assert outbox.published == 11
    assert outbox.calls == 4
