"""The service skeleton: ops endpoint, logging, signals and graceful shutdown.

Usage, from a service's ``__main__``::

    async def main(health: Health, stop: asyncio.Event) -> None:
        ...  # start clients, add readiness checks, loop until stop.is_set()

    run_service("ingest-flukso", settings, main)

SIGINT/SIGTERM set ``stop``; ``main`` gets ``grace`` seconds to finish its current
batch (flush, commit) before it is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from energy_core.errors import EnergyError
from energy_core.observability import (
    Health,
    configure_logging,
    configure_pseudonyms,
    ops_app,
)
from energy_core.settings import ServiceSettings

logger = logging.getLogger(__name__)

ServiceMain = Callable[[Health, asyncio.Event], Coroutine[Any, Any, None]]


class PortInUseError(EnergyError):
    """The configured HTTP port is taken; the message says which setting to change."""


def bind_socket(host: str, port: int, *, setting: str) -> socket.socket:
    """Binds a listening socket now, so a taken port fails with a clear message."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections
    # only when the listening socket says it is TCP (``sock.proto``). With proto 0,
    # Nagle holds the body of a keep-alive response until the client's delayed ACK:
    # +40 ms on every request after the first on a connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        msg = f"cannot listen on {host}:{port} ({exc.strerror}); set {setting}"
        raise PortInUseError(msg) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal capture: the runtime owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_http(
    app: ASGIApp,
    sock: socket.socket,
    *,
    stop: asyncio.Event,
    log_level: str = "warning",
) -> None:
    """Serves ``app`` on an already bound socket until ``stop`` is set.

    ``log_config=None``: uvicorn keeps no handler of its own, so its records (an
    unhandled exception's traceback among them) go through the service's
    formatter, which withholds exception messages and ids.
    """
    config = uvicorn.Config(
        app, log_level=log_level, lifespan="on", access_log=False, log_config=None
    )
    for name in ("uvicorn", "uvicorn.error"):  # undo any earlier uvicorn set-up
        logger_ = logging.getLogger(name)
        logger_.handlers.clear()
        logger_.propagate = True
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopper.cancel()
        await task


async def run_async(
    name: str,
    settings: ServiceSettings,
    main: ServiceMain,
    *,
    app: ASGIApp | None = None,
    health: Health | None = None,
    grace: float = 10.0,
    port_setting: str = "HTTP_PORT",
) -> None:
    """Runs ``main`` beside the HTTP app (ops routes by default) until a signal.

    Pass ``app`` and the ``health`` its ops routes use when the service has its own
    HTTP API (the api service, emulators); otherwise an ops-only app is served.
    """
    health = health or Health()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sock = bind_socket(settings.http_host, settings.http_port, setting=port_setting)
    host, port = sock.getsockname()[:2]
    logger.info("http endpoint on http://%s:%s (/healthz /readyz /metrics)", host, port)
    http = asyncio.create_task(serve_http(app or ops_app(health), sock, stop=stop))
    worker = asyncio.create_task(main(health, stop))
    await asyncio.wait({worker, http}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    health.live = False
    try:
        await asyncio.wait_for(asyncio.shield(worker), timeout=grace)
    except TimeoutError:
        logger.warning("%s did not stop within %.0f s; cancelling", name, grace)
        worker.cancel()
    finally:
        await http
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    if worker.done() and not worker.cancelled() and worker.exception():
        raise worker.exception()  # type: ignore[misc]
    logger.info("%s stopped", name)


_OPTIONAL_PER_CALL = ("sniffio",)
"""Optional modules a dependency imports on every call when present.

httpcore asks ``import sniffio`` in every request (to tell asyncio from trio);
sniffio is not installed here, and a failed import is not cached, so each
request searched the whole ``sys.path`` again: 14 % of ingest-enedis' CPU in a
demo backfill. ``None`` in ``sys.modules`` makes that import fail at once
(httpcore then assumes asyncio, as it does without sniffio)."""


def remember_missing_optional_imports() -> None:
    """Caches the absence of :data:`_OPTIONAL_PER_CALL` modules (only if absent)."""
    for name in _OPTIONAL_PER_CALL:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]


def run_service(
    name: str,
    settings: ServiceSettings,
    main: ServiceMain,
    *,
    app: ASGIApp | None = None,
    health: Health | None = None,
    port_setting: str = "HTTP_PORT",
) -> None:
    """Entry point for ``__main__``: logging, then :func:`run_async` to completion."""
    configure_logging(name, level=settings.log_level, json_lines=settings.log_json)
    configure_pseudonyms(settings.secret_key.get_secret_value())
    remember_missing_optional_imports()
    try:
        asyncio.run(
            run_async(
                name, settings, main, app=app, health=health, port_setting=port_setting
            )
        )
    except PortInUseError as exc:
        logger.error("%s", exc)
        raise SystemExit(2) from exc
