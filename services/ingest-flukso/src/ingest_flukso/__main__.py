"""``python -m ingest_flukso``: build settings once, then run the service."""

from __future__ import annotations

import asyncio
import contextlib

from energy_core.observability import Health
from energy_core.runtime import run_service
from ingest_flukso.bootstrap import StoppedBeforeStartError, bootstrap
from ingest_flukso.service import SERVICE
from ingest_flukso.settings import Settings


def main() -> None:
    """Runs ingest-flukso until SIGINT/SIGTERM."""
    settings = Settings()

    async def run(health: Health, stop: asyncio.Event) -> None:
        # stopped before Kafka ever answered: nothing to run, nothing to flush
        with contextlib.suppress(StoppedBeforeStartError):
            async with bootstrap(settings, stop=stop, health=health) as runtime:
                await runtime.service.run(stop)

    run_service(SERVICE, settings, run, port_setting="INGEST_FLUKSO_HTTP_PORT")


if __name__ == "__main__":
    main()
