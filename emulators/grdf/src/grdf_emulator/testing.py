"""The ADICT emulator over real HTTP inside a test process, on a clock the test moves.

Why here: the emulator's own integration tests and ingest-grdf's start it the
same way (uvicorn on a loopback port, quotas relaxed, no missing days, one
clock that the test moves for the emulator's "today"); each suite keeps only
the helpers its tests call. Ports come from the caller (tests take free ones
from the dev stack), so this module needs nothing but the emulator and httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import httpx
import uvicorn

from grdf_emulator import EmulatorState, build_app, build_state
from grdf_emulator.settings import EmulatorSettings

RELAXED: dict[str, object] = {
    "requests_per_second": 1000,
    "daily_cap": 10**7,
    "missing_day_rate": 0.0,
}
"""Test settings unless a test sets its own: the contract's 1 call/s and daily
cap would only slow tests down, and a randomly missing day would make their
figures vary (tests of quotas and gaps set these explicitly)."""


class MovingClock:
    """A clock the test moves; the emulator (and a service under test) read it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class Served:
    """A running emulator: its base URL, its state (for hooks) and its clock."""

    base: str
    state: EmulatorState
    clock: MovingClock


@contextlib.asynccontextmanager
async def serve(
    port: int, clock: MovingClock, **overrides: object
) -> AsyncIterator[Served]:
    """Serves the emulator on ``127.0.0.1:port`` until the block ends.

    ``overrides`` are :class:`EmulatorSettings` fields, over :data:`RELAXED`.
    """
    values: dict[str, object] = {"http_port": port, **RELAXED, **overrides}
    settings = EmulatorSettings(**values)  # type: ignore[arg-type]
    state = build_state(settings, clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(state), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():  # it gave up before serving: its error, or ours, not a hang
            task.result()
            raise RuntimeError(f"the GRDF emulator did not start on port {port}")
        await asyncio.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", state, clock)
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def emulators(
    kind: Callable[[str, EmulatorState, MovingClock, httpx.AsyncClient], E],
    now: datetime,
    port: Callable[[], int],
) -> AsyncIterator[Callable[..., Awaitable[E]]]:
    """A factory of emulators, each with its own clock at ``now`` and an HTTP
    client on its base URL; all are stopped when the block ends.

    ``kind(base, state, clock, http)`` wraps each one in the suite's own helper
    (the suites differ in what their helpers return, not in how they start).
    """
    async with contextlib.AsyncExitStack() as running:

        async def start(**overrides: object) -> E:
            served = await running.enter_async_context(
                serve(port(), MovingClock(now), **overrides)
            )
            http = await running.enter_async_context(
                httpx.AsyncClient(base_url=served.base, timeout=10)
            )
            return kind(served.base, served.state, served.clock, http)

        yield start
