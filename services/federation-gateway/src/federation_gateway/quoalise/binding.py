"""Starts the Quoalise binding from the gateway's settings (called by ``bootstrap``).

Off unless ``quoalise_jid`` is set. When on, it logs in as the provider's full JID,
registers the commands once the session starts, adds an ``xmpp`` readiness check and
runs the push loop until ``stop``; on exit it disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Protocol

from energy_core.observability import Health
from energy_core.privacy import SecrecyRule
from federation_gateway.quoalise.connection import connect, make_client
from federation_gateway.quoalise.inbound import InboundStore, run_inbound
from federation_gateway.quoalise.reader import QuoaliseReader
from federation_gateway.quoalise.responder import QuoaliseStore, Responder
from federation_gateway.quoalise.series import Source
from federation_gateway.settings import Settings


class PgStore(QuoaliseStore, InboundStore, Protocol):
    """Subscriptions, JIDs and inbound series: PgRepository is all three."""


@contextlib.asynccontextmanager
async def start_quoalise(
    settings: Settings,
    source: Source,
    rule: SecrecyRule,
    *,
    stop: asyncio.Event,
    health: Health,
    clock: Callable[[], datetime],
    store: PgStore | None = None,
) -> AsyncIterator[Responder | None]:
    """The running responder, or None when the binding is not configured."""
    if not settings.quoalise_jid:
        yield None
        return
    xmpp = make_client(
        settings.quoalise_jid,
        settings.quoalise_password.get_secret_value(),
        ca_file=settings.quoalise_ca_file,
    )
    responder = Responder(
        xmpp, source, rule, dict(settings.quoalise_peer_jids), clock=clock, store=store
    )
    await responder.restore()
    xmpp.add_event_handler("session_start", lambda _e: responder.register_commands())

    async def connected() -> bool:
        return bool(xmpp.is_connected())

    health.add_check("xmpp", connected)
    await connect(xmpp, settings.quoalise_host, settings.quoalise_port)
    closing = False

    def reconnect(_event: object) -> None:
        # The reference implementations retry every 5 s; so do we, until stop.
        if not closing and not stop.is_set():
            asyncio.get_running_loop().call_later(
                5.0, xmpp.connect, settings.quoalise_host, settings.quoalise_port
            )

    xmpp.add_event_handler("disconnected", reconnect)
    tasks = [
        asyncio.create_task(responder.run_pushes(stop, settings.push_interval_seconds))
    ]
    if settings.quoalise_inbound and store is not None:
        tasks.append(
            asyncio.create_task(
                run_inbound(
                    QuoaliseReader(xmpp),
                    store,
                    list(settings.quoalise_inbound),
                    stop=stop,
                    interval=settings.quoalise_inbound_interval_seconds,
                    days=settings.quoalise_inbound_days,
                    clock=clock,
                )
            )
        )
    try:
        yield responder
    finally:
        closing = True
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        xmpp.disconnect()
