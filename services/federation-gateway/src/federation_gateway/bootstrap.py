"""The composition root of the federation gateway, shared by ``__main__`` and tests.

``bootstrap(settings, stop=...)`` opens the PostgreSQL pool, loads (or creates)
this collective's signing key, builds the HTTP app and the loop, and registers one
readiness check per dependency. Bindings other than HTTPS (Quoalise over XMPP)
are started here too, from the same runtime, so they share the peer registry, the
keys and the egress decision.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from starlette.applications import Starlette

from energy_core.observability import Health
from energy_core.privacy import SecrecyRule
from energy_core.secrets import SecretBox
from energy_store.db import create_pool
from federation_gateway import demo
from federation_gateway.app import KeyFetcher, create_app, http_key_fetcher
from federation_gateway.client import PeerClient
from federation_gateway.keys import Keyring, SigningKey
from federation_gateway.quoalise.binding import start_quoalise
from federation_gateway.quoalise.responder import Responder
from federation_gateway.repository import PgRepository
from federation_gateway.service import Gateway
from federation_gateway.settings import Settings


class MissingSecretKeyError(RuntimeError):
    """SEN1_SECRET_KEY is not set: private keys cannot be sealed at rest."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """What :func:`bootstrap` built."""

    settings: Settings
    pool: asyncpg.Pool
    repository: PgRepository
    box: SecretBox
    keyring: Keyring
    rule: SecrecyRule
    app: Starlette
    service: Gateway
    client: PeerClient
    quoalise: Responder | None = None
    """The Quoalise XMPP binding, when ``quoalise_jid`` is set."""


async def load_keyring(
    repository: PgRepository, box: SecretBox, settings: Settings, now: datetime
) -> Keyring:
    """Our keys from the database; a first key is created (and stored sealed) when
    there is none, so a new collective has an identity from its first start."""
    overlap = timedelta(seconds=settings.key_overlap_seconds)
    keys = await repository.load_keys(box)
    if not any(k.retired_at is None for k in keys):
        fresh = SigningKey.generate(now)
        await repository.store_key(box, fresh)
        keys.append(fresh)
    return Keyring(keys, overlap=overlap)


@contextlib.asynccontextmanager
async def bootstrap(
    settings: Settings,
    *,
    stop: asyncio.Event,
    health: Health | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    fetch_keys: KeyFetcher | None = None,
) -> AsyncIterator[Runtime]:
    """Builds and starts the gateway; closes what it opened on exit."""
    secret = settings.secret_key.get_secret_value()
    if not secret:
        raise MissingSecretKeyError("set SEN1_SECRET_KEY (seals the signing keys)")
    box = SecretBox([secret])
    health = health or Health()
    async with contextlib.AsyncExitStack() as stack:
        if settings.demo_neighbour_database:
            await demo.prepare_neighbour_database(
                settings.postgres.dsn.get_secret_value(), clock()
            )
        pool = await create_pool(settings.postgres)
        stack.push_async_callback(pool.close)
        repository = PgRepository(pool)
        await repository.enable_outbox()
        keyring = await load_keyring(repository, box, settings, clock())
        rule = SecrecyRule(
            min_points=settings.secrecy.min_points,
            max_share=settings.secrecy.max_share,
        )
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))

        async def rotate_key() -> str:
            fresh, retired = keyring.rotate(clock())
            await repository.retire_keys([k.kid for k in retired], fresh.created_at)
            await repository.store_key(box, fresh)
            return fresh.kid

        app = create_app(
            settings=settings,
            keyring=keyring,
            repository=repository,
            rule=rule,
            health=health,
            fetch_keys=fetch_keys or http_key_fetcher(http),
            rotate_key=rotate_key,
            clock=clock,
        )
        client = PeerClient(http, domain=settings.domain, keyring=keyring, clock=clock)
        service = Gateway(settings, repository, client, rule, clock=clock)
        health.add_check("postgres", repository.ping)
        if settings.demo_peers:
            task = asyncio.create_task(
                demo.federate(
                    settings.demo_peers,
                    own_url=settings.public_url,
                    repository=repository,
                    client=client,
                    http=http,
                    stop=stop,
                )
            )
            stack.callback(task.cancel)
        quoalise = await stack.enter_async_context(
            start_quoalise(
                settings,
                repository,
                rule,
                stop=stop,
                health=health,
                clock=clock,
                store=repository,
            )
        )
        yield Runtime(
            settings,
            pool,
            repository,
            box,
            keyring,
            rule,
            app,
            service,
            client,
            quoalise,
        )
