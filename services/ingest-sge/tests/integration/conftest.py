"""emulators/sge on free loopback ports (SOAP over mTLS, SFTP), on a fixed day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from sen1_stack.broker import free_port
from sge_emulator import Emulator
from sge_emulator.testing import running

from .emulated import TODAY


@pytest_asyncio.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    async with running(
        tmp_path / "sge", free_port, start_date=TODAY.isoformat()
    ) as emulator:
        yield emulator
