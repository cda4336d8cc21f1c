"""Structured logs, pseudonymous references and the ops HTTP app every service runs.

Every service exposes ``/metrics`` (Prometheus text), ``/healthz`` (the process is
alive) and ``/readyz`` (its dependencies answer), and logs JSON lines. Logs never
carry a meter id or a person in clear: use :func:`meter_ref`, whose pseudonyms are
keyed with the deployment's secret (``SEN1_SECRET_KEY``), so nobody can rebuild them
by hashing the public list of PRMs. Exceptions are logged by type and stack only:
the messages of database drivers and HTTP clients carry values and ids
(``Key (meter_id)=(…)``, URLs with a ``usage_point_id``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry
from prometheus_client import generate_latest as _generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

Check = Callable[[], Awaitable[bool]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_IDS = re.compile(r"(?<![0-9A-Za-z])(?:\d{14}|[0-9a-fA-F]{32})(?![0-9A-Za-z])")
"""What an id looks like in text: a PRM/PCE (14 digits) or a Flukso sensor (32 hex)."""


def scrub(text: str) -> str:
    """``text`` with anything shaped like a meter id replaced by ``[id]``.

    A net under :func:`meter_ref`, not a substitute: a message that formats an
    exception or a URL may carry an id the caller never saw.
    """
    return _IDS.sub("[id]", text)


def safe_traceback(exc_info: ExcInfo) -> str:
    """The exception types and stack frames of ``exc_info``, without any message.

    Frames name code (file, line, function, source line), never the values the code
    held; the chain (``raise … from``, implicit context) keeps its types.
    """
    lines: list[str] = []
    seen: set[int] = set()
    exc: BaseException | None = exc_info[1]
    first = True
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if not first:
            lines.append("caused by:")
        first = False
        frames = traceback.extract_tb(exc.__traceback__)
        lines.extend(
            f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames
        )
        lines.append(
            f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld)"
        )
        exc = exc.__cause__ or exc.__context__
    return "\n".join(lines)


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
            "msg": scrub(record.getMessage()),
        }
        payload.update(
            {
                k: scrub(v) if isinstance(v, str) else v
                for k, v in vars(record).items()
                if k not in _RESERVED
            }
        )
        if record.exc_info and record.exc_info[1] is not None:
            payload["exc"] = safe_traceback(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for people (``make run``), under the same rules as JSON."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line; never the traceback text another handler cached on the record."""
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line, ids scrubbed."""
        return scrub(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        """Types and frames only (see :func:`safe_traceback`)."""
        return safe_traceback(ei) if ei and ei[1] is not None else ""


_NOISY = ("aiokafka", "kafka", "uvicorn.access", "httpx", "httpcore")
"""Libraries that log per request or per record: quiet by default, and httpx would
log request URLs, which carry meter ids (personal data) in query strings."""


def logging_config(
    service: str, *, level: str = "INFO", json_lines: bool = True
) -> dict[str, Any]:
    """:func:`configure_logging` as a ``logging.config.dictConfig`` mapping.

    For frameworks that install logging themselves when they start (Faust's worker
    takes it as its ``logging_config``): their records then pass our formatters
    too, and never print an exception's message.
    """
    formatter: dict[str, Any] = (
        {"()": JsonFormatter, "service": service}
        if json_lines
        else {"()": TextFormatter}
    )
    quiet = logging.getLevelName(
        max(logging.WARNING, logging.getLevelName(level.upper()))
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"sen1": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "sen1",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["default"]},
        "loggers": {name: {"level": quiet} for name in _NOISY},
    }


def configure_logging(
    service: str, *, level: str = "INFO", json_lines: bool = True
) -> None:
    """Sends every log record to stderr, as JSON lines or as readable text.

    An exception nobody caught (the process ends) is logged too, through the same
    formatter, instead of Python's own traceback print, which would show its
    message (an HTTP error's URL carries a ``usage_point_id``).
    """
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    sys.excepthook = log_uncaught


def log_uncaught(
    kind: type[BaseException],
    value: BaseException,
    traceback_: TracebackType | None,
) -> None:
    """``sys.excepthook``: the uncaught exception as a log record (type and stack)."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback_)
        return
    logging.getLogger("uncaught").critical(
        "uncaught exception; the process ends", exc_info=(kind, value, traceback_)
    )


_PSEUDONYM_LABEL = b"sen1 log pseudonym v1"
_pseudonym_key: bytes = secrets.token_bytes(32)
"""Until :func:`configure_pseudonyms` runs: a random key, so pseudonyms are stable
within this process only, and never reversible."""


def pseudonym_key(secret: str) -> bytes:
    """The HMAC key of log pseudonyms derived from the deployment's secret.

    Derived (HMAC of a fixed label), not the secret itself, so that the Fernet key
    sealing secrets at rest is never used for a second purpose.
    """
    return hmac.new(secret.encode(), _PSEUDONYM_LABEL, hashlib.sha256).digest()


def configure_pseudonyms(secret: str) -> None:
    """Keys :func:`meter_ref` with ``secret`` (``SEN1_SECRET_KEY``).

    Every service of a deployment reads the same secret, so a meter has the same
    pseudonym in the logs of all of them; without it (empty) the per-process random
    key stays, and a warning says so.
    """
    global _pseudonym_key
    if not secret:
        logging.getLogger(__name__).warning(
            "SEN1_SECRET_KEY is not set: log pseudonyms are valid in this process only"
        )
        return
    _pseudonym_key = pseudonym_key(secret)


def meter_ref(meter: str, *, key: bytes | None = None) -> str:
    """A pseudonym for logs: HMAC-SHA256 of the meter id under the deployment's key.

    An unkeyed hash of a 14-digit PRM can be reversed by hashing every PRM; the HMAC
    cannot without the key. ``key`` defaults to the one :func:`configure_pseudonyms`
    set (see :func:`pseudonym_key`).
    """
    mac = hmac.new(key or _pseudonym_key, meter.encode(), hashlib.sha256)
    return "m-" + mac.hexdigest()[:12]


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
