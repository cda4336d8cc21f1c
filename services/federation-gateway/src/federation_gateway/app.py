"""The HTTPS binding's application: JWKS, peers' signed routes, operator routes.

Peers' routes verify every request (:mod:`federation_gateway.signatures`) before
anything else, and every answer passes :func:`federation_gateway.egress.decide`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from energy_core.observability import Health, ops_routes
from federation_gateway.keys import Keyring


class DeferredApp:
    """An ASGI app served before bootstrap() has built the real one.

    Ops routes answer (``/healthz`` alive, ``/readyz`` 503 until checks exist);
    anything else is 503 until :meth:`mount`.
    """

    def __init__(self, health: Health) -> None:
        self._ops = Starlette(routes=ops_routes(health))
        self._app: ASGIApp | None = None

    def mount(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is not None:
            await self._app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] not in {
            "/healthz",
            "/readyz",
            "/metrics",
        }:
            await Response("starting", status_code=503)(scope, receive, send)
        else:
            await self._ops(scope, receive, send)


def create_app(
    *,
    keyring: Keyring,
    health: Health,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The gateway's routes (ops routes included)."""

    async def jwks(_: Request) -> Response:
        return JSONResponse(
            keyring.jwks(clock()),
            media_type="application/jwk-set+json",
            headers={"Cache-Control": "max-age=300"},
        )

    routes = [Route("/.well-known/jwks.json", jwks), *ops_routes(health)]
    return Starlette(routes=routes)
