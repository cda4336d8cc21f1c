"""``python -m ingest_enedis``: the collector (ops endpoint on 8012)."""

from __future__ import annotations

import asyncio

from energy_core.kafka import KafkaPublisher
from energy_core.observability import Health
from energy_core.runtime import run_service
from energy_store.db import create_pool
from ingest_enedis.client import DataConnectClient
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.service import SERVICE, Collector, run_forever
from ingest_enedis.settings import Settings
from ingest_enedis.verifier import verify_forever


def main() -> None:
    """Builds the settings once and runs the collection loop until a signal."""
    settings = Settings()

    async def loop(health: Health, stop: asyncio.Event) -> None:
        limiter = SlidingWindowLimiter.per_second_and_hour(
            settings.requests_per_second,
            settings.requests_per_hour,
            time_scale=settings.quota_time_scale,
            margin_s=settings.quota_margin_s,
        )
        client = DataConnectClient(settings, limiter)
        publisher = KafkaPublisher(settings.kafka, client_id=SERVICE)
        pool = await create_pool(settings.postgres)
        await publisher.start()
        try:
            collector = Collector(settings, client, publisher, pool)
            await asyncio.gather(
                run_forever(collector, stop, settings.cycle_interval_s),
                verify_forever(
                    pool, client, collector.clock, stop, settings.verify_interval_s
                ),
            )
        finally:
            await publisher.stop()
            await client.aclose()
            await pool.close()

    run_service(SERVICE, settings, loop, port_setting="INGEST_ENEDIS_HTTP_PORT")


if __name__ == "__main__":
    main()
