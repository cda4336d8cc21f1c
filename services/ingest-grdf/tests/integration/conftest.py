"""The ADICT emulator over real HTTP (uvicorn on a free port) + ingest-grdf wired
to it through ``bootstrap()`` with the test's PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio

from grdf_emulator import EmulatorState
from grdf_emulator.testing import MovingClock, emulators
from sen1_stack.broker import free_port

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris


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
    async with emulators(Emulator, NOW, free_port) as factory:
        yield factory
