"""Structured logs, pseudonymous references and the ops HTTP app every service runs.

Every service exposes ``/metrics`` (Prometheus text), ``/healthz`` (the process is
alive) and ``/readyz`` (its dependencies answer), and logs JSON lines. Logs never
carry a meter id or a person in clear: use :func:`meter_ref`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry
from prometheus_client import generate_latest as _generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

Check = Callable[[], Awaitable[bool]]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, service, logger, msg, and any extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        """Renders the record and the ``extra={…}`` fields as JSON."""
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(
    service: str, *, level: str = "INFO", json_lines: bool = True
) -> None:
    """Sends every log record to stderr, as JSON lines or as readable text."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that log per request or per record: quiet by default, and httpx
    # would log request URLs, which carry meter ids (personal data) in query strings.
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def meter_ref(meter: str) -> str:
    """A stable pseudonym for logs: the same meter always gives the same short ref."""
    return "m-" + hashlib.sha256(meter.encode()).hexdigest()[:10]


class Health:
    """Liveness and readiness: named async checks that say whether a dependency answers."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self.live = True

    def add_check(self, name: str, check: Check) -> None:
        """Registers a readiness check; it should return quickly."""
        self._checks[name] = check

    async def readiness(self) -> tuple[bool, dict[str, bool]]:
        """Runs every check; a check that raises counts as not ready."""
        results: dict[str, bool] = {}
        for name, check in self._checks.items():
            try:
                results[name] = bool(await check())
            except Exception:  # a failing dependency is "not ready", never a 500
                results[name] = False
        return all(results.values()), results


def ops_routes(health: Health, registry: CollectorRegistry = REGISTRY) -> list[Route]:
    """The /metrics, /healthz and /readyz routes, to mount in any Starlette app."""

    async def metrics(_: Request) -> Response:
        return Response(_generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        status = 200 if health.live else 503
        return JSONResponse({"status": "ok" if health.live else "dead"}, status)

    async def readyz(_: Request) -> Response:
        ready, checks = await health.readiness()
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    return [
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]


def ops_app(health: Health, registry: CollectorRegistry = REGISTRY) -> Starlette:
    """A Starlette app serving only the ops routes (for non-HTTP services)."""
    return Starlette(routes=ops_routes(health, registry))
