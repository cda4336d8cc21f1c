"""``python -m flukso_emulator``: devices on MQTT + flukso.net API on 8091."""

from __future__ import annotations

import asyncio
import time

from energy_core.observability import Health, ops_routes
from energy_core.runtime import run_service
from flukso_emulator.api import make_app
from flukso_emulator.devices import Fleet
from flukso_emulator.publisher import fleet_devices, run_live
from flukso_emulator.settings import EmulatorSettings


def main() -> None:
    """Builds settings once and runs the emulator until SIGINT/SIGTERM."""
    settings = EmulatorSettings()
    devices = fleet_devices(settings.devices)
    fleet = Fleet(devices, start=int(time.time()))
    health = Health()
    app = make_app(
        devices,
        token=settings.token.get_secret_value(),
        now=time.time,
        extra_routes=list(ops_routes(health)),
    )

    async def run(_: Health, stop: asyncio.Event) -> None:
        await run_live(
            fleet,
            settings.mqtt_host,
            settings.mqtt_port,
            interval=settings.interval_seconds,
            stop=stop,
        )

    run_service(
        "flukso-emulator",
        settings,
        run,
        app=app,
        health=health,
        port_setting="FLUKSO_EMULATOR_HTTP_PORT",
    )


if __name__ == "__main__":
    main()
