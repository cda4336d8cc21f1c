"""Log pseudonyms are keyed; logs carry no meter id and no exception message."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import sys

import pytest

from energy_core import observability
from energy_core.observability import (
    Health,
    JsonFormatter,
    TextFormatter,
    configure_pseudonyms,
    meter_ref,
    pseudonym_key,
)

PRM = "09876543210987"
SENSOR = "0123456789abcdef0123456789abcdef"


def test_pseudonym_is_keyed_stable_and_not_a_plain_hash() -> None:
    one, other = pseudonym_key("secret-one"), pseudonym_key("secret-two")
    assert meter_ref(PRM, key=one) == meter_ref(PRM, key=pseudonym_key("secret-one"))
    assert meter_ref(PRM, key=one) != meter_ref(PRM, key=other)
    assert meter_ref(PRM, key=one) != meter_ref("09876543210988", key=one)
    # The old pseudonym (unsalted SHA-256) is rebuilt by hashing the PRM list; the
    # keyed one is not among those hashes.
    plain = hashlib.sha256(PRM.encode()).hexdigest()
    assert meter_ref(PRM, key=one)[2:] not in plain


def test_configured_key_is_shared_by_every_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(observability, "_pseudonym_key", b"")
    configure_pseudonyms("the deployment's secret")
    # Another service of the same deployment derives the same key from the secret.
    assert meter_ref(PRM) == meter_ref(
        PRM, key=pseudonym_key("the deployment's secret")
    )
    configure_pseudonyms("")  # unset: the previous key stays, never an empty one
    assert meter_ref(PRM) == meter_ref(
        PRM, key=pseudonym_key("the deployment's secret")
    )


def _emit(formatter: logging.Formatter) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger("test-observability")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            try:
                raise KeyError(f"Key (meter_id)=({PRM}) already exists")
            except KeyError as exc:
                raise RuntimeError(f"GET /x?usage_point_id={PRM}&s={SENSOR}") from exc
        except RuntimeError:
            log.exception("collect of %s failed", PRM, extra={"sensor": SENSOR})
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_json_logs_carry_no_id_and_no_exception_message() -> None:
    line = _emit(JsonFormatter("svc"))
    record = json.loads(line)
    assert PRM not in line
    assert SENSOR not in line
    assert "already exists" not in line
    assert record["msg"] == "collect of [id] failed"
    assert record["sensor"] == "[id]"
    # What a reader needs to find the bug is kept: types and frames of the chain.
    assert "builtins.RuntimeError (message withheld)" in record["exc"]
    assert "builtins.KeyError (message withheld)" in record["exc"]
    assert "in _emit" in record["exc"]


def test_text_logs_follow_the_same_rules() -> None:
    text = _emit(TextFormatter())
    assert PRM not in text
    assert SENSOR not in text
    assert "usage_point_id" not in text
    assert "builtins.RuntimeError (message withheld)" in text


async def test_a_crashing_request_is_logged_through_our_formatter(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """uvicorn logs an app's exception itself: it must go through our formatter."""
    import socket

    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Route

    from energy_core.runtime import serve_http

    async def crash(_: object) -> None:
        raise RuntimeError(f"Key (meter_id)=({PRM}) already exists")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("svc"))
    root = logging.getLogger()
    root.addHandler(handler)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    app = Starlette(routes=[Route("/x", crash)])
    server = asyncio.create_task(serve_http(app, sock, stop=stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    response = await client.get("/x")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)
        root.removeHandler(handler)
    assert response.status_code == 500
    logged = stream.getvalue()
    assert "Exception in ASGI application" in logged
    assert "RuntimeError (message withheld)" in logged
    assert PRM not in logged
    assert PRM not in capfd.readouterr().err


def test_logging_config_for_frameworks_uses_our_formatter(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """What Faust's worker installs (the aggregator) formats like configure_logging."""
    import logging.config

    from energy_core.observability import logging_config

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logging.config.dictConfig(logging_config("aggregator", level="INFO"))
        assert logging.getLogger("aiokafka").level == logging.WARNING
        try:
            raise ValueError(f"bad record for {PRM}")
        except ValueError:
            logging.getLogger("aggregator.agents").exception("batch of %s failed", PRM)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    err = capfd.readouterr().err
    record = json.loads(err.strip().splitlines()[-1])
    assert record["service"] == "aggregator"
    assert record["msg"] == "batch of [id] failed"
    assert "ValueError (message withheld)" in record["exc"]
    assert PRM not in err


def test_every_service_keys_its_pseudonyms_from_the_shared_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """run_service (every service's entry point) reads SEN1_SECRET_KEY for meter_ref."""
    from energy_core.runtime import run_service
    from energy_core.settings import ServiceSettings

    monkeypatch.setattr(observability, "_pseudonym_key", b"per-process")
    monkeypatch.setenv("SEN1_SECRET_KEY", "one deployment's secret")
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored afterwards
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    async def main(health: Health, stop: asyncio.Event) -> None:
        return  # a service that stops at once

    try:
        run_service("svc", ServiceSettings(http_port=0), main)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    shared = pseudonym_key("one deployment's secret")
    assert meter_ref(PRM) == meter_ref(PRM, key=shared)


def test_an_uncaught_exception_is_logged_without_its_message() -> None:
    from energy_core.observability import log_uncaught

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("svc"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"GET /v5/daily_consumption?usage_point_id={PRM}")
        except RuntimeError as exc:
            log_uncaught(RuntimeError, exc, exc.__traceback__)
    finally:
        root.removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert record["level"] == "CRITICAL"
    assert "RuntimeError (message withheld)" in record["exc"]
    assert PRM not in stream.getvalue()
