"""``python -m ingest_flukso``: build settings once, then run the service."""

from __future__ import annotations

import asyncio
import logging

import httpx

from energy_core.errors import TransientError
from energy_core.kafka import KafkaPublisher
from energy_core.observability import Health
from energy_core.runtime import run_service
from ingest_flukso.client import FluksoApi
from ingest_flukso.service import SERVICE, FluksoService
from ingest_flukso.settings import Settings

logger = logging.getLogger(__name__)


def main() -> None:
    """Runs ingest-flukso until SIGINT/SIGTERM."""
    settings = Settings()

    async def run(health: Health, stop: asyncio.Event) -> None:
        publisher = KafkaPublisher(settings.kafka, client_id=SERVICE)
        while True:
            try:
                await publisher.start()
                break
            except TransientError as exc:
                logger.warning("%s; retrying in 2 s", exc)
                await asyncio.sleep(2)
        try:
            async with httpx.AsyncClient(base_url=settings.api_url, timeout=30) as http:
                api = FluksoApi(http, settings.api_token)
                service = FluksoService(settings, publisher, api)
                health.add_check("mqtt", service.ready)
                await service.run(stop)
        finally:
            await publisher.stop()

    run_service(SERVICE, settings, run, port_setting="INGEST_FLUKSO_HTTP_PORT")


if __name__ == "__main__":
    main()
