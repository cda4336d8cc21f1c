"""App factory: routes, problem+json, ops routes over the parts ``bootstrap`` built.

The composition root is :func:`api.bootstrap.bootstrap` (settings -> pool, hub,
guards, webhook dispatcher, supervised loops, one readiness check each); this
module only turns it into a FastAPI application. Background loops (the ALERTS consumer, webhook retries) run under
``api.supervise.Supervised``: restarted with backoff when they fail, and each is a
``/readyz`` check, so a dead consumer makes the api not ready instead of silent.
"""

from __future__ import annotations

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
from api.bootstrap import SERVER_SETTINGS, Runtime, bootstrap
from api.consent_page import ConsentPort
from api.netguard import Resolver
from api.routes import (
    dashboard,
    enedis,
    gas,
    gas_rights,
    hooks,
    keys,
    live,
    meters,
    money,
    neighbours,
    ops,
    portfolio,
    rights,
    rollups,
    self_consumption,
    session,
    sge_sites,
    territory,
    verification,
)
from api.routes import map as map_view
from api.settings import Settings
from api.supervise import Loop
from energy_core.observability import Health, ops_routes

__all__ = ["SERVER_SETTINGS", "app_for", "bootstrap", "create_app"]

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: Settings,
    *,
    health: Health | None = None,
    pool: asyncpg.Pool | None = None,
    consent: ConsentPort | None = None,
    resolve: Resolver | None = None,
    alerts_loop: Loop | None = None,
) -> FastAPI:
    """The ASGI factory: ``bootstrap(settings, …)`` then :func:`app_for`.

    Give ``pool`` to share one (tests); otherwise the lifespan opens one.
    ``resolve`` replaces DNS for webhook targets and ``alerts_loop`` the ALERTS
    consumer (tests: a rebinding name, a consumer that fails).
    """
    return app_for(
        bootstrap(
            settings,
            health=health,
            pool=pool,
            consent=consent,
            resolve=resolve,
            alerts_loop=alerts_loop,
        )
    )


def app_for(runtime: Runtime) -> FastAPI:
    """The FastAPI application over what :func:`api.bootstrap.bootstrap` built."""
    app = FastAPI(
        title="SEN1 api",
        version="1",
        summary="Energy data for residents, cities and operators, behind consent "
        "and statistical secrecy.",
        lifespan=runtime.serving,
        docs_url=None,  # served below from the vendored Swagger UI (offline)
    )
    _vendored_docs(app)
    runtime.install(app)
    problems.install(app)
    app.add_middleware(access_log.RequestScope)
    for module in (
        session,
        territory,
        meters,
        money,
        rollups,
        map_view,
        live,
        hooks,
        keys,
        enedis,
        verification,
        rights,
        ops,
        portfolio,
        gas,
        gas_rights,
        sge_sites,
        dashboard,
        neighbours,
        self_consumption,
    ):
        app.include_router(module.router)
    for route in ops_routes(runtime.health):
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
