"""App factory: routes, problem+json, ops routes, lifespan (pool, alerts, webhooks).

Background loops (the ALERTS consumer, webhook retries) run under
``api.supervise.Supervised``: restarted with backoff when they fail, and each is a
``/readyz`` check, so a dead consumer makes the api not ready instead of silent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api import access_log, problems
from api.alert_hub import AlertGate, AlertHub, consume_alerts
from api.consent_page import ConsentPort, DataConnectAuthorize
from api.netguard import Resolver, guarded_client, networks, system_resolve
from api.privacy import SecrecyRule
from api.ratelimit import LoginGuard, StreamLimits
from api.routes import (
    dashboard,
    enedis,
    hooks,
    keys,
    live,
    meters,
    money,
    ops,
    portfolio,
    rights,
    rollups,
    session,
    territory,
    verification,
)
from api.settings import Settings
from api.supervise import Loop, Supervised
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
    resolve: Resolver | None = None,
    alerts_loop: Loop | None = None,
) -> FastAPI:
    """The api. Give ``pool`` to share one (tests); otherwise the lifespan opens one.

    ``resolve`` replaces DNS for webhook targets and ``alerts_loop`` the ALERTS
    consumer (tests: a rebinding name, a consumer that fails).
    """
    health = health or Health()
    resolve = resolve or system_resolve
    allow = networks(settings.webhook_allow_networks)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = pool is None
        app.state.pool = pool or await create_pool(
            settings.postgres, server_settings=SERVER_SETTINGS
        )
        app.state.hub.set_gate(AlertGate(app.state.pool, app.state.secrecy))
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        client = guarded_client(
            allow, timeout_s=settings.webhook_timeout_s, resolve=resolve
        )
        async with client:
            dispatcher = WebhookDispatcher(
                app.state.pool,
                app.state.box,
                client,
                attempts=settings.webhook_max_attempts,
                backoff_s=settings.webhook_backoff_s,
                lease_s=settings.webhook_lease_s,
                retry_every_s=settings.webhook_retry_every_s,
            )
            app.state.hub.add_listener(dispatcher)
            loops: dict[str, Loop] = {"webhook-retries": dispatcher.run}
            if settings.subscribe_alerts or alerts_loop is not None:
                loops["alerts-consumer"] = alerts_loop or _alerts(settings, app)
            health.add_check("postgres", lambda: _ping(app.state.pool))
            app.state.supervised = {}
            for name, loop in loops.items():
                supervised = Supervised(
                    name,
                    loop,
                    backoff_s=settings.consumer_backoff_s,
                    backoff_max_s=settings.consumer_backoff_max_s,
                )
                app.state.supervised[name] = supervised
                health.add_check(name, supervised.check)
                tasks.append(asyncio.create_task(supervised.run(stop)))
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
        docs_url=None,  # served below from the vendored Swagger UI (offline)
    )
    _vendored_docs(app)
    app.state.settings = settings
    app.state.secrecy = SecrecyRule(
        settings.secrecy_min_points, settings.secrecy_max_share
    )
    app.state.hub = AlertHub()
    app.state.login_guard = LoginGuard(settings)
    app.state.streams = StreamLimits(
        settings.sse_max_streams_per_caller, settings.sse_max_streams
    )
    app.state.webhook_allow = allow
    app.state.resolve = resolve
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
        keys,
        enedis,
        verification,
        rights,
        ops,
        portfolio,
        dashboard,
    ):
        app.include_router(module.router)
    for route in ops_routes(health):
        app.router.routes.append(route)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _vendored_docs(app: FastAPI) -> None:
    """``/docs`` with Swagger UI from ``/static/vendor`` instead of FastAPI's CDN
    default, so the api's documentation works on a network without internet."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="SEN1 api",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def _alerts(settings: Settings, app: FastAPI) -> Loop:
    async def loop(ready: asyncio.Event, stop: asyncio.Event) -> None:
        await consume_alerts(settings.kafka, app.state.hub, ready, stop)

    return loop


async def _ping(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT 1"))
