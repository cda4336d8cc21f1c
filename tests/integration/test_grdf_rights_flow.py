"""A GRDF access right from the dashboard to the resident's gas data and back.

The api (ASGI, real PostgreSQL) and ingest-grdf (real HTTP to the ADICT emulator)
only meet in the shared tables, as in production: the resident declares on the
api, ingest-grdf claims the request and declares at GRDF, the holder accepts (the
emulator's hook), ingest-grdf mirrors the state, verifies the pending consent and
opens the occupancy; the readings it publishes are stored by the reading store
(the aggregator's writer), and the api shows them, only inside the data window.
Then the resident revokes: the api hides the PCE's data at once (gas days, CSV,
cost, export) and ingest-grdf revokes the right at GRDF and stops collecting.

Attackers: another resident, a city key of another territory and an anonymous
caller get nothing of the PCE (state, data, declaration, revocation).
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn

from api import auth
from api.main import create_app
from api.settings import Settings as ApiSettings
from api.tariffs import gas_band
from energy_core import topics
from energy_core.domain import PARIS
from energy_core.secrets import SecretBox
from energy_core.settings import PostgresSettings
from energy_core.testing import InMemoryPublisher
from energy_store import demo
from energy_store.loader import load_territory
from energy_store.readings import ReadingStore
from grdf_emulator import build_app, build_state
from grdf_emulator.settings import EmulatorSettings
from ingest_grdf.bootstrap import bootstrap
from ingest_grdf.settings import OKTA_TOKEN_PATH
from ingest_grdf.settings import Settings as GrdfSettings
from sen1_stack.broker import free_port

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[tuple[str, Any, Clock]]:
    port = free_port()
    clock = Clock()
    state = build_state(
        EmulatorSettings(  # type: ignore[call-arg]
            http_port=port,
            requests_per_second=1000,
            daily_cap=10**7,
            missing_day_rate=0.0,
        ),
        clock=clock,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(state), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}", state, clock
    server.should_exit = True
    await task


async def _sign_in(conn: asyncpg.Connection, email: str, role: str = "resident") -> str:
    person = await conn.fetchval("SELECT person_id FROM people WHERE email = $1", email)
    await auth.create_account(
        conn, email=email, password=PASSWORD, role=role, person_id=person
    )
    token = await auth.login(
        conn, email=email, password=PASSWORD, ttl=timedelta(hours=1)
    )
    assert token
    return token


def _h(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_declare_collect_show_revoke_hide(
    emulator: tuple[str, Any, Clock],
    pg_pool: asyncpg.Pool,
    postgres_settings: PostgresSettings,
) -> None:
    base, emulated, clock = emulator
    territory = demo.build()
    await load_territory(pg_pool, territory)
    gas = {str(m.meter) for m in territory.meters if m.energy.value == "gas"}
    resident = next(r for r in territory.residents if any(m in gas for m in r.meters))
    pce = next(m for m in resident.meters if m in gas)
    building_of = {str(m.meter): m.building_id for m in territory.meters}
    other = next(
        r for r in territory.residents if building_of[r.meters[0]] != building_of[pce]
    )
    async with pg_pool.acquire() as conn:
        # a new resident: they hold their flat's PRM, but not yet its PCE
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", resident.email
        )
        await conn.execute("DELETE FROM occupancies WHERE delivery_point_id = $1", pce)
        await conn.execute("DELETE FROM consents WHERE meter_id = $1", pce)
        token = await _sign_in(conn, resident.email)
        attacker = await _sign_in(conn, other.email)
        iris = await conn.fetchval(
            "SELECT b.iris FROM meters m JOIN buildings b USING (building_id)"
            " WHERE m.meter_id = $1",
            pce,
        )
        other_iris = next(
            str(n.iris) for n in territory.neighbourhoods if str(n.iris) != iris
        )
        city_key = await auth.create_api_key(
            conn, label="other", scope="neighbourhood", scope_id=other_iris
        )
        await conn.execute(
            "INSERT INTO api_gas_prices VALUES ('B1', '2020-01-01', NULL, 24.0, 0.1,"
            " 'test benchmark', 'test') ON CONFLICT DO NOTHING"
        )
    async with httpx.AsyncClient(base_url=base) as h:
        postcode = (await h.get("/_emulator/holders")).json()[pce]["code_postal"]

    settings = ApiSettings(
        postgres=postgres_settings,
        subscribe_alerts=False,
        cookie_secure=False,
        SEN1_SECRET_KEY=SecretBox.generate_key(),
    )
    app = create_app(settings, pool=pg_pool)
    publisher = InMemoryPublisher()
    grdf = GrdfSettings(  # type: ignore[call-arg]
        base_url=f"{base}/adict/v2",
        token_url=f"{base}{OKTA_TOKEN_PATH}",
        requests_per_second=1000,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )
    today = clock.now.astimezone(PARIS).date()
    data_from = today - timedelta(days=60)
    store = ReadingStore()

    async def stored() -> None:
        """What the aggregator's writer does with the readings topic."""
        batches = [v for _, v in publisher.sent[topics.READINGS] if v is not None]
        publisher.sent[topics.READINGS].clear()
        async with pg_pool.acquire() as conn, conn.transaction():
            await store.write(conn, batches)

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sen1.test"
        ) as api,
        bootstrap(grdf, publisher=publisher, pool=pg_pool, clock=clock) as runtime,
    ):
        body = {
            "meter_id": pce,
            "holder_name": resident.display_name,
            "email": resident.email,
            "postcode": postcode,
            "scopes": ["informatives", "published", "contractual", "technical"],
            "data_from": data_from.isoformat(),
            "data_until": (today + timedelta(days=300)).isoformat(),
            "right_end": (today + timedelta(days=300)).isoformat(),
        }
        # -- attackers cannot declare on it (not their building / not them)
        stolen = {**body, "holder_name": other.display_name, "email": other.email}
        r = await api.post("/v1/me/grdf/rights", json=stolen, headers=_h(attacker))
        assert r.status_code == 404, r.text
        r = await api.post(
            "/v1/me/grdf/rights", json={**body, "email": "me@evil.example"},
            headers=_h(token),
        )  # fmt: skip
        assert r.status_code == 422, "a person holder is the caller"
        for headers, status in (({"x-api-key": city_key}, 403), ({}, 401)):
            r = await api.post("/v1/me/grdf/rights", json=body, headers=headers)
            assert r.status_code == status

        r = await api.post("/v1/me/grdf/rights", json=body, headers=_h(token))
        assert r.status_code == 202, r.text
        assert r.json()["state"] == "sending"
        assert r.headers["content-type"].startswith("application/json")
        r = await api.post("/v1/me/grdf/rights", json=body, headers=_h(token))
        assert r.status_code == 409, "one request at a time per PCE"
        assert r.headers["content-type"] == "application/problem+json"

        assert await runtime.service.handle_requests() == 1
        mine = (await api.get("/v1/me/grdf/rights", headers=_h(token))).json()
        row = next(i for i in mine["items"] if i["meter_id"] == pce)
        assert row["state"] == "to_validate"
        assert row["data_from"] == data_from.isoformat()
        # pending: nothing readable yet
        r = await api.get(
            f"/v1/meters/{pce}/gas-days",
            params={"start": data_from.isoformat(), "end": today.isoformat()},
            headers=_h(token),
        )
        assert r.status_code == 404

        right_id = await pg_pool.fetchval(
            "SELECT right_id FROM grdf_rights WHERE meter_id = $1", pce
        )
        async with httpx.AsyncClient(base_url=base) as h:
            (await h.post(f"/_emulator/rights/{right_id}/accept")).raise_for_status()
        await runtime.service.check_rights()
        await runtime.service.run_cycle()
        await stored()
        # a reading before the data window (a previous occupant's gas day) is never shown
        before = datetime.combine(data_from - timedelta(days=3), time(6), tzinfo=PARIS)
        async with pg_pool.acquire() as conn:
            series = await conn.fetchval(
                "SELECT series_id FROM series WHERE meter_id = $1"
                " AND dimension = 'energy' LIMIT 1",
                pce,
            )
            await conn.execute(
                "INSERT INTO readings (series_id, start_ts, end_ts, value, quality)"
                " VALUES ($1, $2, $3, 987654.5, 1) ON CONFLICT DO NOTHING",
                series, before, before + timedelta(days=1),
            )  # fmt: skip

        mine = (await api.get("/v1/me/grdf/rights", headers=_h(token))).json()
        assert next(i for i in mine["items"] if i["meter_id"] == pce)["state"] == (
            "active"
        )
        window = {
            "start": (data_from - timedelta(days=10)).isoformat(),
            "end": today.isoformat(),
        }
        r = await api.get(
            f"/v1/meters/{pce}/gas-days", params=window, headers=_h(token)
        )
        assert r.status_code == 200, r.text
        days = r.json()["items"]
        assert days, "the resident sees their gas days"
        assert min(d["day"] for d in days) == data_from.isoformat(), "window start"
        assert all(d["hours"] in (23, 24, 25) for d in days)
        assert all(d["start"].endswith(("06:00:00+01:00", "06:00:00+02:00")) or
                   d["start"].startswith(d["day"]) for d in days)  # fmt: skip
        assert all(d["m3"] is not None and d["kwh"] is not None for d in days)
        assert "987654" not in r.text
        r = await api.get(
            f"/v1/meters/{pce}/daily.csv", params=window, headers=_h(token)
        )
        assert r.status_code == 200
        rows = list(csv.reader(io.StringIO(r.text)))[1:]
        assert rows
        assert "987.654" not in r.text
        month = today.strftime("%Y-%m")
        cost = (
            await api.get(f"/v1/meters/{pce}/cost", params={"month": month},
                          headers=_h(token))
        ).json()  # fmt: skip
        # priced in the band of the contract data ingest-grdf collected (the
        # reference bands are not loaded here: the tariff option decides)
        contract = await pg_pool.fetchrow(
            "SELECT car_kwh, tariff_option FROM grdf_rights WHERE meter_id = $1", pce
        )
        band, _ = gas_band(contract["car_kwh"], contract["tariff_option"], [])
        assert cost["option"] == f"gas {band or '-'}"
        assert cost["price_note"].startswith(f"band {band or 'none'} from ")
        if band == "B1":  # the only band with a price here
            assert cost["total_eur"] > 0 or cost["kwh"] == 0
        else:  # never priced at another band's price
            assert cost["energy_eur"] == 0
            assert cost["unpriced_days"] or cost["kwh"] == 0
        co2 = await api.get(
            f"/v1/meters/{pce}/co2", params={"month": month}, headers=_h(token)
        )
        assert co2.status_code == 200

        # -- attackers: nothing of the PCE
        for headers in (_h(attacker), {"x-api-key": city_key}, {}):
            r = await api.get(
                f"/v1/meters/{pce}/gas-days", params=window, headers=headers
            )
            assert r.status_code in (401, 403, 404)
            r = await api.get("/v1/me/grdf/rights", headers=headers)
            assert pce not in r.text
            r = await api.post(f"/v1/me/grdf/rights/{pce}/revoke", headers=headers)
            assert r.status_code in (401, 403, 404)
        assert (
            await pg_pool.fetchval(
                "SELECT count(*) FROM grdf_requests WHERE kind = 'revoke'"
            )
            == 0
        )

        # -- the resident revokes: hidden at once, then revoked at GRDF
        r = await api.post(f"/v1/me/grdf/rights/{pce}/revoke", headers=_h(token))
        assert r.status_code == 202
        r = await api.get(
            f"/v1/meters/{pce}/gas-days", params=window, headers=_h(token)
        )
        assert r.status_code == 404
        r = await api.get(
            f"/v1/meters/{pce}/daily.csv", params=window, headers=_h(token)
        )
        assert r.status_code == 404
        meters = (await api.get("/v1/meters", headers=_h(token))).json()["items"]
        assert pce not in {m["meter_id"] for m in meters}
        export = await api.get("/v1/me/export", headers=_h(token))
        assert export.status_code == 200
        with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
            readings = archive.read("readings.csv").decode()
        assert pce not in readings

        asked: list[str] = []
        informatives = runtime.client.informatives

        async def recording(pce_asked: str, start: str, end: str) -> Any:
            asked.append(pce_asked)
            return await informatives(pce_asked, start, end)

        runtime.client.informatives = recording  # type: ignore[method-assign]
        await runtime.service.handle_requests()
        assert emulated.rights.by_id[right_id].etat == "Révoquée"
        mine = (await api.get("/v1/me/grdf/rights", headers=_h(token))).json()
        assert next(i for i in mine["items"] if i["meter_id"] == pce)["state"] == (
            "revoked"
        )
        clock.now += timedelta(days=1)
        await runtime.service.run_cycle()
        assert pce not in asked, "collection stopped"
        assert person is not None
