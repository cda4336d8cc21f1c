"""The SGE emulator on free loopback ports: SOAP over mTLS, SFTP, CONNECT proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from sen1_stack.broker import free_port
from sge_emulator import Emulator, client_ssl_context
from sge_emulator.testing import running

TODAY = "2026-11-23"


@pytest_asyncio.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    async with running(
        tmp_path / "sge", free_port, proxy_port=free_port(), start_date=TODAY
    ) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def mtls(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client holding the emulator's client certificate."""
    async with httpx.AsyncClient(
        base_url=emulator.base_url, verify=client_ssl_context(emulator.pki), timeout=30
    ) as client:
        yield client
