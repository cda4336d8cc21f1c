"""A city registers its schools in SGE from the api, and sees them in its
portfolio: the whole path over real parts.

the city finds its schools by its SIRET (RecherchePoint through ingest-sge's
portfolio, zeep over mutual TLS) -> api (ASGI, the city's person account) -> ``sge_sites`` + pending consents ->
ingest-sge's enrolment worker built by ``bootstrap()`` (zeep over mutual TLS to
emulators/sge) verifies the declared authorisation, subscribes and backfills
14 days of curve to the readings topic -> a night passes, the emulator drops the
R50 file -> the collector fetches, decrypts, parses and publishes it -> the
aggregator's pipeline stores and rolls up what the topic holds -> the portfolio
shows the sites with their kWh; another person does not see them; a PRM SGE
does not know is refused with SGE's code; a withdrawn site leaves the
portfolio at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from aggregator.pipeline import Pipeline
from aggregator.territory import Territory
from api import auth
from api.main import create_app
from api.settings import Settings as ApiSettings
from energy_core import topics
from energy_core.secrets import SecretBox
from energy_core.settings import KafkaSettings, PostgresSettings
from energy_store import demo
from energy_store.loader import load_territory
from ingest_sge.bootstrap import bootstrap
from ingest_sge.client.answers import SearchCriteria
from ingest_sge.enrolment import STOPPED
from ingest_sge.settings import Settings as SgeSettings
from sen1_stack.broker import free_port
from sen1_stack.topic_reader import drain
from sge_emulator import Emulator, client_ssl_context
from sge_emulator.catalogue import ADP_NOT_FOUND
from sge_emulator.settings import (
    DEMO_CONTRACT,
    DEMO_LOGIN,
    SFTP_PASSWORD,
    SFTP_USER,
)
from sge_emulator.testing import running

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WSDL_DIR = ROOT / "services" / "ingest-sge" / "tests" / "wsdl"
PASSWORD = "correct horse battery"
CITY_EMAIL = "patrimoine@demo.sen1.invalid"  # the demo commune's property manager
CITY_SIRET = "21380151000017"  # the commune of Échirolles (the emulator's demo holder)


@pytest_asyncio.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    # today's date: the api stamps consents with the real clock
    async with running(tmp_path / "sge", free_port) as emulator:
        yield emulator


async def _token(conn: asyncpg.Connection, email: str) -> str:
    person = await conn.fetchval("SELECT person_id FROM people WHERE email = $1", email)
    await auth.create_account(
        conn, email=email, password=PASSWORD, role="resident", person_id=person
    )
    token = await auth.login(
        conn, email=email, password=PASSWORD, ttl=timedelta(hours=1)
    )
    assert token
    return str(token)


async def _topic(kafka: KafkaSettings) -> list[bytes]:
    return [record.value for record in await drain(kafka, topics.READINGS)]


async def test_a_city_registers_its_schools_and_sees_them_in_its_portfolio(
    emulator: Emulator,
    tmp_path: Path,
    pg_pool: asyncpg.Pool,
    kafka_settings: KafkaSettings,
    postgres_settings: PostgresSettings,
) -> None:
    territory = demo.build()
    await load_territory(pg_pool, territory)
    schools = sorted(
        p.prm
        for p in emulator.state.catalogue
        if "demo" in p.tags and p.c5 and p.holder == "COMMUNE D ECHIROLLES"
    )[:2]
    assert len(schools) == 2
    async with pg_pool.acquire() as conn:
        # the demo gives the city these points already: take them back, so that
        # only the SGE registration can open them
        await conn.execute(
            "DELETE FROM occupancies WHERE delivery_point_id = ANY($1::text[])", schools
        )
        await conn.execute(
            "DELETE FROM consents WHERE meter_id = ANY($1::text[])", schools
        )
        city = await _token(conn, CITY_EMAIL)
        other = await _token(conn, territory.residents[0].email)
        city_key = await auth.create_api_key(
            conn, label="city", scope="commune", scope_id=str(territory.commune)
        )
        buildings = dict(
            await conn.fetch(
                "SELECT meter_id, building_id FROM meters WHERE meter_id = ANY($1::text[])",
                schools,
            )
        )
    app = create_app(
        ApiSettings(
            postgres=postgres_settings,
            subscribe_alerts=False,
            cookie_secure=False,
            SEN1_SECRET_KEY=SecretBox.generate_key(),
        ),
        pool=pg_pool,
    )
    today = datetime.now(UTC).date()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sen1.test"
        ) as api,
    ):
        as_city = {"authorization": f"Bearer {city}"}
        as_other = {"authorization": f"Bearer {other}"}

        async def portfolio(headers: dict[str, str]) -> dict[str, Any]:
            r = await api.get("/v1/me/portfolio", headers=headers)
            assert r.status_code == 200, r.text
            return {s["meter_id"]: s for s in r.json()["sites"]}

        async def states() -> dict[str, tuple[str, str | None, int]]:
            r = await api.get("/v1/me/sge-sites", headers=as_city)
            return {
                s["meter_id"]: (s["state"], s["reason"], s["readings"])
                for s in r.json()["sites"]
            }

        settings = SgeSettings(
            kafka=kafka_settings,
            postgres=postgres_settings,
            sftp_host=emulator.settings.host,
            sftp_port=emulator.settings.sftp_port,
            sftp_username=SFTP_USER,
            sftp_password=SFTP_PASSWORD,  # type: ignore[arg-type]
            flux_keys=emulator.settings.keys,  # type: ignore[arg-type]
            sftp_remote_dir=".",
            spool_dir=tmp_path / "spool",
            settle_s=0,
            soap_base_url=emulator.base_url,
            soap_wsdl_dir=WSDL_DIR,
            soap_login=DEMO_LOGIN,
            soap_contract_id=DEMO_CONTRACT,
            soap_cert_file=emulator.pki.client_pem,
            soap_key_file=emulator.pki.client_key,
            soap_ca_file=emulator.pki.ca_pem,
        )
        async with bootstrap(settings, stop=asyncio.Event()) as runtime:
            assert runtime.enrolment is not None
            # 0. the city finds its schools in SGE by its SIRET (RecherchePoint over mTLS)
            assert runtime.portfolio is not None
            found = await runtime.portfolio.search(SearchCriteria(siret=CITY_SIRET))
            assert set(schools) <= {p.prm for p in found}
            assert all(p.holder == "COMMUNE D ECHIROLLES" for p in found)
            # 1. register: two schools and a PRM SGE does not know
            r = await api.post(
                "/v1/me/sge-sites",
                headers=as_city,
                json={
                    "sites": [
                        {"name": "Groupes scolaires", "prms": schools},
                        {"name": "Ancien gymnase", "prms": [ADP_NOT_FOUND]},
                    ],
                    "authorisation": {
                        "authorised_by": "Commune d'Échirolles",
                        "authoriser_kind": "legal",
                        "valid_from": (today - timedelta(days=1)).isoformat(),
                        "valid_until": (today + timedelta(days=365)).isoformat(),
                        "proof_reference": "délibération 2026-118",
                        "history_from": (today - timedelta(days=400)).isoformat(),
                    },
                },
            )
            assert r.status_code == 202, r.text
            assert r.json()["accepted"] == 3
            assert not set(schools) & set(await portfolio(as_city))  # pending

            # 2. the worker verifies, subscribes and backfills over mTLS
            assert await runtime.enrolment.run_once() == {"active": 2, "refused": 1}
            assert await runtime.enrolment.run_once() == {}  # nothing left
            # 3. a night passes: the flux files of the subscribed points are dropped
            async with httpx.AsyncClient(
                base_url=emulator.base_url,
                verify=client_ssl_context(emulator.pki),
                timeout=30,
            ) as mtls:
                assert (await mtls.post("/_emulator/advance")).status_code == 200
            results = await runtime.collector.poll_once()
            assert results
            assert {r.outcome for r in results} == {"done"}, results
            # the night's curve of the two points (a 23-hour day: 46 half-hours)
            assert sum(r.readings for r in results) >= 2 * 46

            # 4. the aggregator stores and rolls up what the topic holds
            values = await _topic(kafka_settings)
            aggregator = Territory()
            async with pg_pool.acquire() as conn:
                await aggregator.load(conn)
                stored = await Pipeline(aggregator).process(conn, values)
            assert stored.readings_changed >= 2 * 14 * 46

            site_states = await states()
            for prm in schools:
                assert site_states[prm][:2] == ("active", None)
                assert site_states[prm][2] >= 14 * 46  # backfilled readings
            assert site_states[ADP_NOT_FOUND][:2] == ("refused", "SGT401")

            async with pg_pool.acquire() as conn:
                per_point = dict(
                    await conn.fetch(
                        """SELECT s.meter_id, count(*) FROM readings r
                           JOIN series s USING (series_id)
                           WHERE s.meter_id = ANY($1::text[]) GROUP BY s.meter_id""",
                        schools,
                    )
                )
                rolled = await conn.fetchval(
                    """SELECT count(*) FROM rollups WHERE scope = 'building'
                       AND scope_id = ANY($1::text[]) AND bucket = 'P1D'
                       AND bucket_start >= $2""",
                    list(buildings.values()),
                    datetime.now(UTC) - timedelta(days=20),
                )
            assert set(per_point) == set(schools)
            assert all(n >= 15 * 46 for n in per_point.values())  # backfill + night
            assert rolled >= 14  # the buildings' days are rolled up

            # 5. the portfolio shows them, to the city only
            mine = await portfolio(as_city)
            for prm in schools:
                assert (mine[prm]["kwh"] or 0) > 0
                assert mine[prm]["days"] >= 14
                assert mine[prm]["building_id"] == buildings[prm]
            assert not set(schools) & set(await portfolio(as_other))
            for headers in ({"x-api-key": city_key}, {}):
                for path in ("/v1/me/sge-sites", "/v1/me/portfolio"):
                    answer = await api.get(path, headers=headers)
                    assert answer.status_code in (401, 403)

            # 6. withdrawn: gone at once; the worker ends the subscription's row
            r = await api.delete(f"/v1/me/sge-sites/{schools[0]}", headers=as_city)
            assert r.status_code == 204
            assert schools[0] not in await portfolio(as_city)
            assert schools[1] in await portfolio(as_city)
            assert await runtime.enrolment.run_once() == {"withdrawn": 1}
            state, reason, _ = (await states())[schools[0]]
            assert (state, reason) == ("withdrawn", STOPPED)
            assert not emulator.state.active(schools[0])  # SGE stopped it
            assert emulator.state.active(schools[1])
