"""SEN1 emulator of Enedis SGE: SOAP over mutual TLS and the SFTP drop of flux files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn

from sge_emulator.app import build_app, handle_soap, health_app
from sge_emulator.catalogue import build_catalogue
from sge_emulator.pki import Pki, ensure_pki
from sge_emulator.proxy import ConnectProxy
from sge_emulator.settings import EmulatorSettings
from sge_emulator.sftp import ensure_host_key, start_sftp
from sge_emulator.state import EmulatorState, Subscription

__all__ = [
    "Emulator",
    "EmulatorSettings",
    "EmulatorState",
    "build_state",
    "handle_soap",
]

logger = logging.getLogger("sge_emulator")


def build_state(settings: EmulatorSettings) -> EmulatorState:
    """Catalogue, emulated date and the homologation subscriptions (ASS-R1, ASAD-R1)."""
    today = (
        date.fromisoformat(settings.start_date)
        if settings.start_date
        else __import__("datetime").datetime.now(ZoneInfo("Europe/Paris")).date()
    )
    state = EmulatorState(
        settings=settings, catalogue=build_catalogue(settings.with_demo), today=today
    )
    state.key_version = settings.key_version
    state.seed_homologation()
    if settings.autosubscribe_demo:
        for point in state.catalogue:
            if "demo" not in point.tags:
                continue
            for kind in ("CDC", "IDX"):
                sub = Subscription(
                    service_id=state.new_service_id(),
                    affaire_id=state.new_affaire_id(),
                    prm=point.prm,
                    kind=kind,
                    model="acces",
                    start=today,
                    end=None,
                )
                state.subscriptions[sub.service_id] = sub
    return state


def server_ssl_context(pki: Pki) -> ssl.SSLContext:
    """TLS ≥ 1.2, client certificate REQUIRED and checked against the emulator's CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(pki.server_pem), str(pki.server_key))
    context.load_verify_locations(cafile=str(pki.ca_pem))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_ssl_context(pki: Pki, *, with_cert: bool = True) -> ssl.SSLContext:
    """What a Tiers client uses (tests, the ingest service's defaults)."""
    context = ssl.create_default_context(cafile=str(pki.ca_pem))
    if with_cert:
        context.load_cert_chain(str(pki.client_pem), str(pki.client_key))
    return context


@dataclass
class Emulator:
    """SOAP (mTLS), health, SFTP and optional CONNECT proxy, started and stopped together."""

    settings: EmulatorSettings
    health_port: int | None = None
    state: EmulatorState = field(init=False)
    pki: Pki = field(init=False)
    drop: Path = field(init=False)
    _servers: list[uvicorn.Server] = field(default_factory=list, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _sftp: object | None = field(default=None, init=False)
    _proxy: ConnectProxy | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        base = Path(self.settings.state_dir)
        self.pki = ensure_pki(base / "pki")
        self.drop = base / "drop"
        self.drop.mkdir(parents=True, exist_ok=True)
        self.state = build_state(self.settings)

    @property
    def base_url(self) -> str:
        return f"https://{self.settings.host}:{self.settings.soap_port}"

    async def start(self) -> None:
        """Starts every listener; if one cannot (a port taken), the ones already
        listening are closed before the error goes up, so a failed start leaks no
        socket (a leaked one surfaced later as another test's error)."""
        try:
            await self._start()
        except BaseException:
            await self._stop(tolerant=True)
            raise

    async def _start(self) -> None:
        s = self.settings
        ssl_context = server_ssl_context(self.pki)
        config = uvicorn.Config(
            build_app(self.state, self.drop),
            host=s.host,
            port=s.soap_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        config.load()
        config.ssl = ssl_context  # mTLS: uvicorn passes this context to the listener
        self._servers.append(server)
        self._tasks.append(asyncio.create_task(server.serve()))
        if self.health_port is not None:
            health = uvicorn.Server(
                uvicorn.Config(
                    health_app(),
                    host=s.host,
                    port=self.health_port,
                    log_level="warning",
                    access_log=False,
                    lifespan="off",
                )
            )
            self._servers.append(health)
            self._tasks.append(asyncio.create_task(health.serve()))
        self._sftp = await start_sftp(
            s.host,
            s.sftp_port,
            self.drop,
            ensure_host_key(Path(s.state_dir)),
            s.sftp_user,
            s.sftp_password.get_secret_value(),
        )
        if s.proxy_port is not None:
            self._proxy = ConnectProxy(s.host, s.soap_port)
            await self._proxy.start(s.host, s.proxy_port)
        for server in self._servers:
            while not server.started:
                await asyncio.sleep(0.02)
                if any(t.done() for t in self._tasks):
                    for t in self._tasks:
                        if t.done():
                            t.result()
        if s.night_every_s > 0:
            self._tasks.append(asyncio.create_task(self._nights()))

    async def _nights(self) -> None:
        from sge_emulator import nightly

        while True:
            await asyncio.sleep(self.settings.night_every_s)
            await asyncio.to_thread(nightly.advance, self.state, self.drop, 1)

    async def stop(self) -> None:
        await self._stop(tolerant=False)

    async def _stop(self, *, tolerant: bool) -> None:
        for server in self._servers:
            server.should_exit = True
        for task in self._tasks:
            if not task.done() and task.get_coro().__name__ == "_nights":  # type: ignore[union-attr]
                task.cancel()
        # after a failed start, a listener's task may hold that failure: the
        # others must still be closed (the start's error is what goes up)
        quiet: tuple[type[BaseException], ...] = (asyncio.CancelledError,)
        if tolerant:
            quiet = (asyncio.CancelledError, Exception)
        for task in self._tasks:
            with contextlib.suppress(*quiet):
                await task
        if self._sftp is not None:
            self._sftp.close()  # type: ignore[attr-defined]
            await self._sftp.wait_closed()  # type: ignore[attr-defined]
        if self._proxy is not None:
            await self._proxy.close()
