"""``python -m grdf_emulator``: the GRDF ADICT emulator on port 8094."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

import uvicorn

from grdf_emulator import build_app, build_state
from grdf_emulator.intercept import InterceptProxy, make_certificates
from grdf_emulator.settings import EmulatorSettings

logger = logging.getLogger("grdf_emulator")


async def serve(settings: EmulatorSettings) -> None:
    """The emulator, and its intercepting proxy when ``intercept_port`` is set."""
    app = build_app(build_state(settings))
    # a stream of three years is ~1 MB of dicts (no cycles): rare collections
    # keep the gateway stamping calls when they arrive, not after a GC pause
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )
    proxy = None
    if settings.intercept_port is not None:
        certificates = make_certificates(Path(settings.intercept_dir))
        proxy = InterceptProxy(certificates, settings.http_host, settings.http_port)
        await proxy.start(settings.http_host, settings.intercept_port)
        logger.info(
            "intercepting proxy on %s:%d, CA %s",
            settings.http_host,
            settings.intercept_port,
            certificates.ca_pem,
        )
    try:
        await uvicorn.Server(config).serve()
    finally:
        if proxy is not None:
            await proxy.close()


def main() -> None:
    """Serves the emulator until interrupted."""
    settings = EmulatorSettings()
    logging.basicConfig(level=settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
