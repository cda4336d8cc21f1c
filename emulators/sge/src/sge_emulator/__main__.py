"""``python -m sge_emulator``: SOAP over mTLS on 8095, SFTP on 8096, health on 8097."""

from __future__ import annotations

import asyncio
import logging
import os

from sge_emulator import Emulator
from sge_emulator.settings import EmulatorSettings

logger = logging.getLogger("sge_emulator")
HEALTH_PORT = 8097


async def serve(settings: EmulatorSettings) -> None:
    emulator = Emulator(
        settings,
        health_port=int(os.environ.get("SGE_EMULATOR_HEALTH_PORT", HEALTH_PORT)),
    )
    await emulator.start()
    logger.info(
        "SGE emulator: SOAP %s (mTLS, CA %s, client cert %s), SFTP %s:%d, emulated date %s",
        emulator.base_url,
        emulator.pki.ca_pem,
        emulator.pki.client_pem,
        settings.host,
        settings.sftp_port,
        emulator.state.today,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main() -> None:
    settings = EmulatorSettings()
    logging.basicConfig(level=settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
