"""``python -m ingest_sge``: the SGE flux collector (ops endpoint on 8015)."""

from __future__ import annotations

import asyncio

from energy_core.loops import Backoff
from energy_core.observability import Health
from energy_core.runtime import run_service
from ingest_sge.bootstrap import bootstrap
from ingest_sge.service import SERVICE, run_forever
from ingest_sge.settings import Settings


def main() -> None:
    """Builds the settings once and polls the SFTP drop until a signal."""
    settings = Settings()

    async def loop(health: Health, stop: asyncio.Event) -> None:
        async with bootstrap(settings, stop=stop, health=health) as runtime:
            await run_forever(
                runtime.collector,
                stop,
                settings.poll_interval_s,
                Backoff(settings.backoff_base_s, settings.backoff_max_s, jitter=True),
            )

    run_service(SERVICE, settings, loop, port_setting="INGEST_SGE_HTTP_PORT")


if __name__ == "__main__":
    main()
