"""One slixmpp client connection, opened the same way for the provider and the reader.

TLS is required (STARTTLS, certificate and host name verified; ``ca_file`` names a
private CA, as a test Prosody's self-signed certificate needs). XEP-0199 pings every
15 s keep NATs and servers from dropping an idle stream, as the reference client does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import slixmpp


class ConnectError(RuntimeError):
    """The XMPP server refused us or did not answer in time."""


def make_client(
    jid: str, password: str, *, ca_file: str | None = None, priority: int = -1
) -> slixmpp.ClientXMPP:
    """A client with the plugins Quoalise needs; presence priority -1 by default
    (a provider or a polling reader must not steal pushes sent to its bare JID)."""
    xmpp = slixmpp.ClientXMPP(jid, password)
    if ca_file:
        xmpp.ca_certs = Path(ca_file)
    xmpp.enable_direct_tls = False
    xmpp.register_plugin("xep_0004")
    xmpp.register_plugin("xep_0050")
    xmpp.register_plugin("xep_0199", {"keepalive": True, "interval": 15})

    def online(_event: object) -> None:
        xmpp.send_presence(ppriority=priority)

    xmpp.add_event_handler("session_start", online)
    return xmpp


async def connect(
    xmpp: slixmpp.ClientXMPP,
    host: str | None = None,
    port: int | None = None,
    *,
    wait_s: float = 15.0,
) -> None:
    """Connects and waits for the session (raises ConnectError)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[bool] = loop.create_future()

    def done(ok: bool) -> None:
        if not ready.done():
            ready.set_result(ok)

    xmpp.add_event_handler("session_start", lambda _e: done(True))
    xmpp.add_event_handler("failed_all_auth", lambda _e: done(False))
    xmpp.add_event_handler("connection_failed", lambda _e: done(False))
    xmpp.connect(host, port)
    try:
        async with asyncio.timeout(wait_s):
            ok = await ready
    except TimeoutError as exc:
        xmpp.disconnect()
        raise ConnectError(f"no XMPP session for {xmpp.boundjid.bare}") from exc
    if not ok:
        xmpp.disconnect()
        raise ConnectError(f"XMPP login refused for {xmpp.boundjid.bare}")
