"""The composition root of the api, shared by ``__main__``, ``create_app`` and the tests.

``bootstrap(settings)`` builds what the application needs from the settings: the
statistical-secrecy rule, the alert hub, the login and stream guards, the webhook
network allow-list and resolver, the secret box and the consent port. The pool,
the guarded webhook client, the dispatcher and the supervised loops (ALERTS
consumer, webhook retries) need the running event loop, so :meth:`Runtime.serving`
opens them as the application's lifespan and registers one readiness check per
dependency (PostgreSQL, each supervised loop; the ALERTS consumer is the broker).
Tests pass what they already have (the test pool, a fake consent port, a resolver,
a failing consumer); nothing else differs from production.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI

from api.alert_hub import AlertGate, AlertHub, consume_alerts
from api.consent_page import ConsentPort, DataConnectAuthorize
from api.netguard import (
    IPNetwork,
    Resolver,
    guarded_client,
    networks,
    system_resolve,
)
from api.privacy import SecrecyRule
from api.ratelimit import LoginGuard, StreamLimits
from api.settings import Settings
from api.supervise import Loop, Supervised
from api.webhooks import WebhookDispatcher
from energy_core.observability import Health
from energy_core.secrets import SecretBox
from energy_store.db import create_pool

SERVER_SETTINGS = {"max_parallel_workers_per_gather": "0"}
"""Session settings of the api's connections. No parallel query: every request is
small, and under load two extra worker processes per query only fight the other
requests for the cores (a year of IRIS rollups: ~35 -> ~23 ms unloaded, measured
on the bench data)."""


@dataclass(slots=True)
class Runtime:
    """What :func:`bootstrap` built; :meth:`serving` is the application's lifespan."""

    settings: Settings
    health: Health
    secrecy: SecrecyRule
    hub: AlertHub
    login_guard: LoginGuard
    streams: StreamLimits
    webhook_allow: list[IPNetwork]
    resolve: Resolver
    box: SecretBox | None
    consent: ConsentPort
    pool: asyncpg.Pool | None = None
    """A caller-given pool (tests); otherwise :meth:`serving` opens and closes one."""
    alerts_loop: Loop | None = None

    def install(self, app: FastAPI) -> None:
        """Puts the parts where the routes find them (``request.app.state``)."""
        app.state.settings = self.settings
        app.state.secrecy = self.secrecy
        app.state.hub = self.hub
        app.state.login_guard = self.login_guard
        app.state.streams = self.streams
        app.state.webhook_allow = self.webhook_allow
        app.state.resolve = self.resolve
        app.state.box = self.box
        app.state.consent = self.consent

    @contextlib.asynccontextmanager
    async def serving(self, app: FastAPI) -> AsyncIterator[None]:
        """Opens the pool and the supervised loops; closes them on the way out."""
        settings = self.settings
        own = self.pool is None
        app.state.pool = self.pool or await create_pool(
            settings.postgres, server_settings=SERVER_SETTINGS
        )
        self.hub.set_gate(AlertGate(app.state.pool, self.secrecy))
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        client = guarded_client(
            self.webhook_allow,
            timeout_s=settings.webhook_timeout_s,
            resolve=self.resolve,
        )
        async with client:
            dispatcher = WebhookDispatcher(
                app.state.pool,
                self.box,
                client,
                attempts=settings.webhook_max_attempts,
                backoff_s=settings.webhook_backoff_s,
                lease_s=settings.webhook_lease_s,
                retry_every_s=settings.webhook_retry_every_s,
            )
            self.hub.add_listener(dispatcher)
            loops: dict[str, Loop] = {"webhook-retries": dispatcher.run}
            if settings.subscribe_alerts or self.alerts_loop is not None:
                loops["alerts-consumer"] = self.alerts_loop or _alerts(
                    settings, self.hub
                )
            self.health.add_check("postgres", lambda: _ping(app.state.pool))
            app.state.supervised = {}
            for name, loop in loops.items():
                supervised = Supervised(
                    name,
                    loop,
                    backoff_s=settings.consumer_backoff_s,
                    backoff_max_s=settings.consumer_backoff_max_s,
                )
                app.state.supervised[name] = supervised
                self.health.add_check(name, supervised.check)
                tasks.append(asyncio.create_task(supervised.run(stop)))
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=5)
                await self.hub.drain()
        if own:
            await app.state.pool.close()


def bootstrap(
    settings: Settings,
    *,
    health: Health | None = None,
    pool: asyncpg.Pool | None = None,
    consent: ConsentPort | None = None,
    resolve: Resolver | None = None,
    alerts_loop: Loop | None = None,
) -> Runtime:
    """Builds the api's parts from ``settings``; the overrides are for tests."""
    key = settings.secret_key.get_secret_value()
    return Runtime(
        settings=settings,
        health=health or Health(),
        secrecy=SecrecyRule(settings.secrecy.min_points, settings.secrecy.max_share),
        hub=AlertHub(),
        login_guard=LoginGuard(settings),
        streams=StreamLimits(
            settings.sse_max_streams_per_caller, settings.sse_max_streams
        ),
        webhook_allow=networks(settings.webhook_allow_networks),
        resolve=resolve or system_resolve,
        box=SecretBox([key]) if key else None,
        consent=consent
        or DataConnectAuthorize(
            base_url=settings.enedis_authorize_url,
            client_id=settings.enedis_client_id,
            redirect_uri=settings.enedis_redirect_uri,
        ),
        pool=pool,
        alerts_loop=alerts_loop,
    )


def _alerts(settings: Settings, hub: AlertHub) -> Loop:
    async def loop(ready: asyncio.Event, stop: asyncio.Event) -> None:
        await consume_alerts(settings.kafka, hub, ready, stop)

    return loop


async def _ping(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT 1"))
