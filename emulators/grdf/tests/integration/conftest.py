"""The ADICT emulator over real HTTP (uvicorn on a free port), a shared clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest_asyncio

from grdf_emulator import EmulatorState
from grdf_emulator.settings import DEMO_CLIENT_ID, DEMO_SECRET
from grdf_emulator.testing import MovingClock, emulators
from sen1_stack.broker import free_port

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris
TODAY = date(2026, 11, 23)
V2 = "/adict/v2"
BAS = "/adict/bas/v6"
OKTA = "/oauth2/aus5y2ta2uEHjCWIR417/v1/token"
SOFIT = "/openam/oauth2/realms/externeGrdf/access_token"


@dataclass
class Emulator:
    base: str
    state: EmulatorState
    clock: MovingClock
    http: httpx.AsyncClient

    async def token(self, scope: str = V2, path: str = OKTA) -> str:
        response = await self.http.post(
            path,
            data={
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_SECRET,
                "scope": scope,
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def api(self, scope: str = V2) -> httpx.AsyncClient:
        """A client on one API base with a fresh bearer token."""
        token = await self.token(scope)
        return httpx.AsyncClient(
            base_url=self.base + scope,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=10,
        )

    async def hook(self, path: str, json: object = None) -> httpx.Response:
        response = await self.http.post(f"/_emulator/{path}", json=json)
        response.raise_for_status()
        return response


@pytest_asyncio.fixture
async def emulator_factory() -> AsyncIterator[object]:
    """Starts emulators over real HTTP with the given settings (quotas relaxed
    unless a test sets them)."""
    async with emulators(Emulator, NOW, free_port) as factory:
        yield factory


@pytest_asyncio.fixture
async def emulator(emulator_factory) -> Emulator:
    return await emulator_factory()
