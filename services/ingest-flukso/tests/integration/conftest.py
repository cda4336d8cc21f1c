"""Shared fixtures: the emulated flukso.net API on a real socket, and a fleet helper."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest_asyncio

from energy_core.runtime import bind_socket, serve_http
from flukso_emulator.api import make_app
from flukso_emulator.model import SimDevice
from flukso_emulator.publisher import fleet_devices
from flukso_emulator.settings import DEMO_TOKEN


@pytest_asyncio.fixture
async def flukso_api() -> AsyncIterator[tuple[str, list[SimDevice]]]:
    """The emulated flukso.net over HTTP on a free loopback port, with its devices."""
    devices = fleet_devices()
    app = make_app(devices, token=DEMO_TOKEN, now=time.time)
    sock = bind_socket("127.0.0.1", 0, setting="test")
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    task = asyncio.create_task(serve_http(app, sock, stop=stop))
    await asyncio.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}", devices
    finally:
        stop.set()
        await task
