"""``sen1-registry``: migrate the schema, load the demo territory, relay the outbox.

sen1-registry migrate      # alembic upgrade heads
sen1-registry load-demo    # idempotent
sen1-registry relay        # long-running: outbox -> compacted territory topic
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from energy_core.observability import Health, configure_logging
from energy_core.runtime import run_service
from energy_store import demo, migrate
from energy_store.db import create_pool
from energy_store.loader import load_territory
from registry.bootstrap import bootstrap
from registry.service import SERVICE
from registry.settings import RegistrySettings

logger = logging.getLogger(SERVICE)


async def _load_demo(settings: RegistrySettings) -> None:
    pool = await create_pool(settings.postgres)
    try:
        counts = await load_territory(pool, demo.build())
        logger.info("demo territory %s loaded: %s", demo.COMMUNE_NAME, counts)
    finally:
        await pool.close()


def _relay(settings: RegistrySettings) -> None:
    async def main(health: Health, stop: asyncio.Event) -> None:
        async with bootstrap(settings, health=health) as runtime:
            await runtime.relay.run(stop)

    run_service(SERVICE, settings, main, port_setting="REGISTRY_HTTP_PORT")


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="sen1-registry", description=__doc__)
    parser.add_argument("command", choices=["migrate", "load-demo", "relay"])
    args = parser.parse_args()
    settings = RegistrySettings()
    if args.command == "relay":
        _relay(settings)
        return
    configure_logging(
        "sen1-registry", level=settings.log_level, json_lines=settings.log_json
    )
    if args.command == "migrate":
        migrate.upgrade(settings.postgres.dsn.get_secret_value())
        logger.info("schema up to date")
    else:
        asyncio.run(_load_demo(settings))


if __name__ == "__main__":
    main()
