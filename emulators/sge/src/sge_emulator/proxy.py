"""A CONNECT proxy that tunnels Enedis' SGE hosts to the emulator's mTLS listener.

Why: clients such as lowatt-enedis have no endpoint setting (the host is in
their WSDLs and rewritten to ``sge-ws.enedis.fr``), but they honour the standard
``https_proxy``. The tunnel is raw TCP: TLS, including the client certificate,
runs end to end between the client and the emulator, whose certificate names
the Enedis hosts. Any other destination is refused.
"""

from __future__ import annotations

import asyncio
import contextlib

SGE_HOSTS = frozenset(
    {
        "sge-ws.enedis.fr",
        "sge-homologation-ws.enedis.fr",
        "sge-b2b.enedis.fr",
        "sge-homologation-b2b.enedis.fr",
    }
)


class ConnectProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, host, port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, _, rest = head.decode("latin-1").partition(" ")
            authority = rest.split(" ", 1)[0]
            host, _, port = authority.rpartition(":")
            if method != "CONNECT" or host not in SGE_HOSTS or port != "443":
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
