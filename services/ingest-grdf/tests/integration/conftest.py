"""The ADICT emulator over real HTTP (uvicorn on a free port) + ingest-grdf wired
to it through ``bootstrap()`` with the test's PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
import uvicorn

from grdf_emulator import EmulatorState, build_app, build_state
from grdf_emulator.settings import EmulatorSettings
from sen1_stack.broker import free_port

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris


class MovingClock:
    """One clock for the emulator and the service; the test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Emulator:
    base: str
    state: EmulatorState
    clock: MovingClock
    http: httpx.AsyncClient

    async def hook(self, path: str, json: object = None) -> Any:
        response = await self.http.post(f"/_emulator/{path}", json=json)
        response.raise_for_status()
        return response.json()

    async def holders(self) -> dict[str, dict[str, Any]]:
        response = await self.http.get("/_emulator/holders")
        response.raise_for_status()
        result: dict[str, dict[str, Any]] = response.json()
        return result

    async def stats(self) -> dict[str, int]:
        response = await self.http.get("/_emulator/stats")
        result: dict[str, int] = response.json()
        return result


@pytest_asyncio.fixture
async def emulator_factory() -> AsyncIterator[Any]:
    servers: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = []

    async def factory(**overrides: object) -> Emulator:
        port = free_port()
        values: dict[str, object] = {
            "http_port": port,
            "requests_per_second": 1000,
            "daily_cap": 10**7,
            "missing_day_rate": 0.0,
        }
        values.update(overrides)
        settings = EmulatorSettings(**values)  # type: ignore[arg-type]
        clock = MovingClock()
        state = build_state(settings, clock=clock)
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(state), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        http = httpx.AsyncClient(base_url=base, timeout=10)
        servers.append((server, task, http))
        return Emulator(base, state, clock, http)

    yield factory
    for server, task, http in servers:
        await http.aclose()
        server.should_exit = True
        await task
