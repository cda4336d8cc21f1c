"""``python -m ingest_grdf``: the collector (ops endpoint on 8016)."""

from __future__ import annotations

import asyncio
import logging

from energy_core.errors import EnergyError
from energy_core.observability import Health
from energy_core.runtime import run_service
from ingest_grdf.bootstrap import bootstrap
from ingest_grdf.client.limiter import quiet_gc
from ingest_grdf.service import SERVICE, GrdfService, run_forever, serve_requests
from ingest_grdf.settings import Settings

log = logging.getLogger(SERVICE)


async def declare_demo(service: GrdfService) -> int:
    """Declares the demo PCEs that have no right yet (make run only)."""
    from ingest_grdf.demo import demo_holders

    known = {str(r.pce) for r in await service.repository.rights()}
    declared = 0
    for pce, holder in demo_holders().items():
        if pce in known:
            continue
        try:
            await service.declare(pce, holder)
            declared += 1
        except EnergyError as exc:  # e.g. 409: already declared on GRDF's side
            log.warning("demo declaration refused", extra={"error": type(exc).__name__})
    return declared


def main() -> None:
    """Builds the settings once and runs the collection loop until a signal."""
    settings = Settings()

    async def loop(health: Health, stop: asyncio.Event) -> None:
        async with bootstrap(settings, health=health) as runtime:
            quiet_gc()  # quota slots on time (see its docstring)
            if settings.declare_demo:
                await declare_demo(runtime.service)
            await asyncio.gather(
                run_forever(runtime.service, stop, settings.cycle_interval_s),
                serve_requests(runtime.service, stop, settings.requests_poll_s),
                *([runtime.status.run(stop)] if runtime.status else []),
            )

    run_service(SERVICE, settings, loop, port_setting="INGEST_GRDF_HTTP_PORT")


if __name__ == "__main__":
    main()
