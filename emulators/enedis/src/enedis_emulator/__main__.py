"""``python -m enedis_emulator``: the Data Connect emulator on port 8092."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from enedis_emulator import build_app, build_state
from enedis_emulator.settings import EmulatorSettings


def main() -> None:
    """Serves the emulator until interrupted."""
    settings = EmulatorSettings()
    logging.basicConfig(level=settings.log_level)
    app = build_app(build_state(settings))
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
