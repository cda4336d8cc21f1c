"""The ADICT emulator over real HTTP inside a test process, on a clock the test moves.

Why here: the emulator's own integration tests and ingest-grdf's start it the
same way (uvicorn on a loopback port, quotas relaxed, no missing days, one
clock that the test moves for the emulator's "today"); each suite keeps only
the helpers its tests call. The port is the caller's (tests take a free one
from the dev stack), so this module needs nothing but the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

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
        if task.done():  # it could not start (the port was taken): say why
            task.result()
            raise RuntimeError(f"the GRDF emulator did not start on port {port}")
        await asyncio.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", state, clock)
    finally:
        server.should_exit = True
        await task
