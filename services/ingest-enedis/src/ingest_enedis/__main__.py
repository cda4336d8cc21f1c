"""``python -m ingest_enedis``: the collector (ops endpoint on 8012)."""

from __future__ import annotations

import asyncio

from energy_core.observability import Health
from energy_core.runtime import run_service
from ingest_enedis.bootstrap import bootstrap
from ingest_enedis.service import SERVICE, run_forever
from ingest_enedis.settings import Settings
from ingest_enedis.status import reporter
from ingest_enedis.verifier import verify_forever


def main() -> None:
    """Builds the settings once and runs the collection loop until a signal."""
    settings = Settings()

    async def loop(health: Health, stop: asyncio.Event) -> None:
        async with bootstrap(settings, health=health) as runtime:
            await asyncio.gather(
                run_forever(runtime.collector, stop, settings.cycle_interval_s),
                verify_forever(
                    runtime.repository.pool,
                    runtime.client,
                    runtime.collector.clock,
                    stop,
                    settings.verify_interval_s,
                ),
                reporter(settings, runtime.repository.pool, runtime.client.limiter).run(
                    stop
                ),
            )

    run_service(SERVICE, settings, loop, port_setting="INGEST_ENEDIS_HTTP_PORT")


if __name__ == "__main__":
    main()
