"""The whole Enedis consent journey across services, over real sockets.

A resident signed in to the api asks for consent; the browser follows the 307 to
the ingest-enedis emulator's consent page (real HTTP), which redirects back to the
api's callback with the sandbox customer's PRMs; the api stores the consents; the
collector's own query then lists those PRMs for collection. Each service only
knows the other through HTTP and the shared tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import pytest_asyncio
import uvicorn

from api import auth
from api.main import create_app
from api.settings import Settings as ApiSettings
from enedis_emulator import build_app, build_state, profiles
from enedis_emulator.settings import EmulatorSettings
from energy_core.secrets import SecretBox
from energy_core.settings import PostgresSettings
from ingest_enedis import cursor
from sen1_stack.broker import free_port

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def emulator_url() -> AsyncIterator[str]:
    port = free_port()
    settings = EmulatorSettings(http_port=port, with_demo=False)  # type: ignore[call-arg]
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(build_state(settings)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_consent_page_round_trip_makes_the_prms_collected(
    emulator_url: str, pg_pool, postgres_settings: PostgresSettings
) -> None:
    async with pg_pool.acquire() as conn:
        person = await conn.fetchval(
            "INSERT INTO people (display_name, email) VALUES ('R', 'r@example.org') "
            "RETURNING person_id"
        )
        await auth.create_account(
            conn, email="r@example.org", password="x" * 12, role="resident",
            person_id=person,
        )  # fmt: skip
        token = await auth.login(
            conn, email="r@example.org", password="x" * 12, ttl=timedelta(hours=1)
        )
        assert await cursor.consented_prms(conn, datetime.now(UTC)) == []
    settings = ApiSettings(
        postgres=postgres_settings,
        subscribe_alerts=False,
        cookie_secure=False,
        enedis_authorize_url=f"{emulator_url}/dataconnect/v1/oauth2/authorize",
        enedis_redirect_uri="http://sen1.test/v1/enedis/callback",
        SEN1_SECRET_KEY=SecretBox.generate_key(),
    )
    app = create_app(settings, pool=pg_pool)
    headers = {"authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sen1.test"
        ) as api,
        httpx.AsyncClient() as browser,
    ):
        to_enedis = await api.get("/v1/enedis/consent", headers=headers)
        assert to_enedis.status_code == 307
        page = await browser.get(to_enedis.headers["location"])  # real socket
        assert page.status_code == 302
        back = urlparse(page.headers["location"])
        assert back.path == "/v1/enedis/callback"
        done = await api.get(
            back.path, params=parse_qs(back.query), headers=headers
        )  # the browser carries the state cookie the api set
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/resident?consent=granted"
    state = parse_qs(back.query)["state"][0]
    client = int(state[-1]) if state[-1].isdigit() else 0
    expected = sorted(m.prm for m in profiles.SANDBOX if m.client == client)
    assert sorted(parse_qs(back.query)["usage_point_id"][0].split(";")) == expected
    async with pg_pool.acquire() as conn:
        assert await cursor.consented_prms(conn, datetime.now(UTC)) == expected
        owners = await conn.fetch(
            "SELECT DISTINCT person_id FROM consents WHERE meter_id = ANY($1)",
            expected,
        )
    assert [r["person_id"] for r in owners] == [person]
