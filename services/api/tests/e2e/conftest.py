"""What every api browser test needs: Debian's Chromium and the app on a port.

Chromium is Debian's /usr/bin/chromium (installed by `.ci/run` / `make system-deps`),
never ``playwright install``: CI has no network for browser downloads. A test asking
for ``browser`` is skipped, saying why, where it is absent. The app is served by a
real uvicorn on a free loopback port, so the page talks HTTP, cookies and all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, async_playwright

from sen1_stack.broker import free_port

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("/usr/bin/chromium is absent (apt-get install chromium)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def serve() -> Callable[..., AbstractAsyncContextManager[str]]:
    """``async with serve(app, **uvicorn_options) as base_url``: the app on a free
    loopback port until the block ends."""

    @asynccontextmanager
    async def run(app: Any, **options: Any) -> AsyncIterator[str]:
        port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", **options
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task  # it failed to start: raise why
            await asyncio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 15)

    return run
