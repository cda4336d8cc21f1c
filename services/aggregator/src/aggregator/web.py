"""/metrics, /healthz and /readyz on Faust's own web server (aiohttp)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from aggregator.app import Context


def register(app: faust.App, ctx: Context) -> None:
    """Adds the ops pages to ``app``."""

    @app.page("/metrics")
    async def metrics(self: Any, request: Any) -> Any:
        return self.bytes(
            generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0]
        )

    @app.page("/healthz")
    async def healthz(self: Any, request: Any) -> Any:
        return self.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(self: Any, request: Any) -> Any:
        checks = {"territory": ctx.territory.ready.is_set(), "postgres": False}
        if ctx.pool is not None:
            try:
                async with ctx.pool.acquire(timeout=2) as conn:
                    checks["postgres"] = await conn.fetchval("SELECT 1") == 1
            except Exception:  # a failing dependency is "not ready", never a 500
                checks["postgres"] = False
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return self.json(body, status=200 if ready else 503)
