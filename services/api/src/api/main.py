"""App factory: routes, problem+json, ops routes, lifespan (pool, alerts, webhooks)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import access_log, problems
from api.consent import ConsentPort, DataConnectAuthorize
from api.live import AlertGate, AlertHub, consume_alerts
from api.privacy import SecrecyRule
from api.routes import (
    dashboard,
    enedis,
    hooks,
    live,
    meters,
    money,
    rights,
    rollups,
    session,
    territory,
    verification,
)
from api.settings import Settings
from api.webhooks import WebhookDispatcher
from energy_core.observability import Health, ops_routes
from energy_core.secrets import SecretBox
from energy_store.db import create_pool

STATIC = Path(__file__).parent / "static"
SERVER_SETTINGS = {"max_parallel_workers_per_gather": "0"}
"""Session settings of the api's connections. No parallel query: every request is
small, and under load two extra worker processes per query only fight the other
requests for the cores (a year of IRIS rollups: ~35 -> ~23 ms unloaded, measured
on the bench data)."""


def create_app(
    settings: Settings,
    *,
    health: Health | None = None,
    pool: asyncpg.Pool | None = None,
    consent: ConsentPort | None = None,
) -> FastAPI:
    """The api. Give ``pool`` to share one (tests); otherwise the lifespan opens one."""
    health = health or Health()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = pool is None
        app.state.pool = pool or await create_pool(
            settings.postgres, server_settings=SERVER_SETTINGS
        )
        app.state.hub.set_gate(AlertGate(app.state.pool, app.state.secrecy))
        stop, ready = asyncio.Event(), asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        async with httpx.AsyncClient(timeout=settings.webhook_timeout_s) as client:
            app.state.hub.add_listener(
                WebhookDispatcher(
                    app.state.pool,
                    app.state.box,
                    client,
                    attempts=settings.webhook_max_attempts,
                    backoff_s=settings.webhook_backoff_s,
                )
            )
            if settings.subscribe_alerts:
                tasks.append(
                    asyncio.create_task(
                        consume_alerts(settings.kafka, app.state.hub, ready, stop)
                    )
                )
            health.add_check("postgres", lambda: _ping(app.state.pool))
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=5)
                await app.state.hub.drain()
        if own:
            await app.state.pool.close()

    app = FastAPI(
        title="SEN1 api",
        version="1",
        summary="Energy data for residents, cities and operators, behind consent "
        "and statistical secrecy.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.secrecy = SecrecyRule(
        settings.secrecy_min_points, settings.secrecy_max_share
    )
    app.state.hub = AlertHub()
    key = settings.secret_key.get_secret_value()
    app.state.box = SecretBox([key]) if key else None
    app.state.consent = consent or DataConnectAuthorize(
        base_url=settings.enedis_authorize_url,
        client_id=settings.enedis_client_id,
        redirect_uri=settings.enedis_redirect_uri,
    )
    problems.install(app)
    app.add_middleware(access_log.RequestScope)
    for module in (
        session,
        territory,
        meters,
        money,
        rollups,
        live,
        hooks,
        enedis,
        verification,
        rights,
        dashboard,
    ):
        app.include_router(module.router)
    for route in ops_routes(health):
        app.router.routes.append(route)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _ping(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT 1"))
