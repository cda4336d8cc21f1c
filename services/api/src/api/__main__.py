"""``python -m api [serve|seed-demo|load-reference]``: the api and its chores."""

from __future__ import annotations

import asyncio
import sys

from api import demo
from api.bootstrap import bootstrap
from api.main import app_for
from api.reference import load_reference
from api.settings import Settings
from energy_core.observability import Health
from energy_core.runtime import run_service
from energy_store.db import create_pool


async def _seed_demo(settings: Settings) -> None:
    pool = await create_pool(settings.postgres)
    try:
        result = await demo.seed(pool)
    finally:
        await pool.close()
    residents = result["residents"]
    if not isinstance(residents, list):
        raise TypeError("residents")
    url = f"http://{settings.http_host}:{settings.http_port}/"
    print(f"\n  SEN1 dashboard: {url}  (demo accounts — never in production)")
    print(f"  password for every demo account: {result['password']}")
    print(f"  operator: {result['operator']}")
    print(f"  residents ({len(residents)}): {', '.join(residents[:3])}, …")
    print(
        f"  city key (commune {result['commune']}): {result['city_key']}\n", flush=True
    )


async def _load_reference(settings: Settings) -> None:
    pool = await create_pool(settings.postgres)
    try:
        async with pool.acquire() as conn:
            print(await load_reference(conn))
    finally:
        await pool.close()


def main() -> None:
    """Entry point of ``sen1-api``."""
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    settings = Settings()
    if command == "seed-demo":
        asyncio.run(_seed_demo(settings))
        return
    if command == "load-reference":
        asyncio.run(_load_reference(settings))
        return
    runtime = bootstrap(settings)

    async def worker(health: Health, stop: asyncio.Event) -> None:
        if settings.demo:
            await _seed_demo(settings)
        await stop.wait()

    run_service(
        "api",
        settings,
        worker,
        app=app_for(runtime),
        health=runtime.health,
        port_setting="API_HTTP_PORT",
    )


if __name__ == "__main__":
    main()
