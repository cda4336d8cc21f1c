"""The service skeleton: ops endpoints over a real socket, clear port errors, shutdown."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from energy_core.observability import Health
from energy_core.runtime import PortInUseError, bind_socket, run_async
from energy_core.settings import ServiceSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_ops_endpoints_answer_and_stop_is_graceful() -> None:
    port = _free_port()
    settings = ServiceSettings(http_port=port)
    db_up = False
    finished: list[str] = []

    async def main(health: Health, stop: asyncio.Event) -> None:
        async def database() -> bool:
            return db_up

        health.add_check("postgres", database)
        await stop.wait()
        finished.append("flushed")  # the loop gets to finish its batch

    task = asyncio.create_task(run_async("test-svc", settings, main))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(100):
            try:
                live = await client.get("/healthz")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
        assert live.status_code == 200
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json() == {
            "status": "not ready",
            "checks": {"postgres": False},
        }
        db_up = True
        assert (await client.get("/readyz")).status_code == 200
        metrics = await client.get("/metrics")
        assert "python_info" in metrics.text
    # SIGTERM in production; here the same stop path through the event.
    import os
    import signal

    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 15)
    assert finished == ["flushed"]


def test_taken_port_names_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match="INGEST_X_HTTP_PORT"):
            bind_socket("127.0.0.1", port, setting="INGEST_X_HTTP_PORT")


async def test_accepted_connections_do_not_wait_for_delayed_acks() -> None:
    # asyncio turns Nagle off (TCP_NODELAY) on accepted connections only if the
    # listening socket is marked TCP; otherwise keep-alive responses lag by 40 ms.
    sock = bind_socket("127.0.0.1", 0, setting="TEST_HTTP_PORT")
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        conn = writer.get_extra_info("socket")
        nodelay.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        try:
            assert await asyncio.wait_for(nodelay, 5) == 1
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


def test_a_missing_optional_module_fails_at_once_and_a_present_one_is_untouched(
    monkeypatch,
):
    """httpcore imports sniffio on every request: its absence is remembered."""
    import sys

    from energy_core import runtime

    absent = "sen1_no_such_module_for_the_test"
    monkeypatch.setattr(runtime, "_OPTIONAL_PER_CALL", (absent, "json"))
    monkeypatch.delitem(sys.modules, absent, raising=False)
    runtime.remember_missing_optional_imports()
    assert sys.modules[absent] is None
    assert sys.modules["json"] is not None
    with pytest.raises(ImportError):
        __import__(absent)
    monkeypatch.delitem(sys.modules, absent)
