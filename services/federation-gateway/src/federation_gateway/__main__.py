"""``python -m federation_gateway``: settings once, bootstrap(), run_service."""

from __future__ import annotations

import asyncio

from energy_core.observability import Health
from energy_core.runtime import run_service
from federation_gateway.app import DeferredApp
from federation_gateway.bootstrap import bootstrap
from federation_gateway.service import SERVICE
from federation_gateway.settings import Settings


def main() -> None:
    """Runs the gateway (peers' HTTPS binding, ops routes, pushes) until a signal.

    The HTTP socket is bound by ``run_service`` before bootstrap() has built the
    routes (they need the pool and the keys), so the served app is a
    :class:`DeferredApp` that answers 503 until bootstrap() mounts the real one.
    """
    settings = Settings()
    health = Health()
    shell = DeferredApp(health)

    async def run(health: Health, stop: asyncio.Event) -> None:
        async with bootstrap(settings, stop=stop, health=health) as runtime:
            shell.mount(runtime.app)
            await runtime.service.run(stop)

    run_service(
        SERVICE,
        settings,
        run,
        app=shell,
        health=health,
        port_setting="FEDERATION_GATEWAY_HTTP_PORT",
    )


if __name__ == "__main__":
    main()
