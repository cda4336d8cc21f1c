"""The whole Enedis consent journey across services, over real sockets.

A resident signed in to the api asks for consent; the browser follows the 307 to
the ingest-enedis emulator's consent page (real HTTP), signs in there as the
account holder and is redirected back to the api's callback; the api records a
*pending* consent. The collector (ingest-enedis, real HTTP to the emulator's
customers v5 identity / contact / contracts) verifies it at its next cycle. Each
service only knows the other through HTTP and the shared tables.

The attack this guards against: signed in as a resident, take the state cookie from
``/v1/enedis/consent`` and call the callback yourself with a neighbour's PRM (or
several). Before, that answered ``consent=granted`` and the neighbour's readings
were served; a forged PRM Enedis refused then made the collector revoke the real
owner's consent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn

from api import auth
from api.main import create_app
from api.settings import Settings as ApiSettings
from enedis_emulator import build_app, build_state, profiles
from enedis_emulator.settings import EmulatorSettings
from energy_core.domain import PARIS
from energy_core.kafka import KafkaPublisher
from energy_core.secrets import SecretBox
from energy_core.settings import KafkaSettings, PostgresSettings
from energy_store import demo
from energy_store.loader import load_territory
from ingest_enedis import cursor
from ingest_enedis.bootstrap import bootstrap
from ingest_enedis.mapping import Stream
from ingest_enedis.service import Collector
from ingest_enedis.settings import Settings as EnedisSettings
from sen1_stack.broker import free_port

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
UNKNOWN_PRM = "98800007059999"  # no such usage point at Enedis


@pytest_asyncio.fixture
async def emulator_url() -> AsyncIterator[str]:
    port = free_port()
    settings = EmulatorSettings(  # type: ignore[call-arg]
        http_port=port, with_demo=True, requests_per_second=400,
        requests_per_hour=10**7,
    )  # fmt: skip
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


@dataclass
class Town:
    """The demo territory with three residents signed in to the api."""

    api: httpx.AsyncClient
    pool: asyncpg.Pool
    territory: demo.DemoTerritory
    attacker: demo.Resident
    owner: demo.Resident
    newcomer: demo.Resident
    tokens: dict[str, str]


def _newcomer(territory: demo.DemoTerritory) -> demo.Resident:
    """A resident whose PRM was activated recently (a new contract: they moved in)."""
    index = {str(p): i for i, p in enumerate(territory.prms)}
    return next(
        r
        for r in territory.residents[2:]
        if index[r.meters[0]] % 11 == 5  # profiles.demo_meter: recent activation
    )


@pytest_asyncio.fixture
async def town(
    emulator_url: str, pg_pool: asyncpg.Pool, postgres_settings: PostgresSettings
) -> AsyncIterator[Town]:
    territory = demo.build()
    await load_territory(pg_pool, territory)
    attacker, owner = territory.residents[0], territory.residents[1]
    newcomer = _newcomer(territory)
    tokens: dict[str, str] = {}
    async with pg_pool.acquire() as conn:
        # Only the owner holds their point in SEN1: the others start with nothing
        # (the collector then has one PRM to collect, not the whole demo).
        owner_id = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", owner.email
        )
        await conn.execute("DELETE FROM consents WHERE person_id <> $1", owner_id)
        await conn.execute("DELETE FROM occupancies WHERE person_id <> $1", owner_id)
        for resident in (attacker, owner, newcomer):
            person = await conn.fetchval(
                "SELECT person_id FROM people WHERE email = $1", resident.email
            )
            await auth.create_account(
                conn, email=resident.email, password=PASSWORD, role="resident",
                person_id=person,
            )  # fmt: skip
            token = await auth.login(
                conn, email=resident.email, password=PASSWORD, ttl=timedelta(hours=1)
            )
            assert token
            tokens[resident.email] = token
    settings = ApiSettings(
        postgres=postgres_settings,
        subscribe_alerts=False,
        cookie_secure=False,
        enedis_authorize_url=f"{emulator_url}/dataconnect/v1/oauth2/authorize",
        enedis_redirect_uri="http://sen1.test/v1/enedis/callback",
        SEN1_SECRET_KEY=SecretBox.generate_key(),
    )
    app = create_app(settings, pool=pg_pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sen1.test"
        ) as api,
    ):
        yield Town(api, pg_pool, territory, attacker, owner, newcomer, tokens)


@pytest_asyncio.fixture
async def collector(
    emulator_url: str, kafka_settings: KafkaSettings, pg_pool: asyncpg.Pool
) -> AsyncIterator[Collector]:
    """ingest-enedis as its composition root builds it, wired to the emulator: one
    cycle verifies the pending consents, then collects."""
    settings = EnedisSettings(  # type: ignore[call-arg]
        base_url=emulator_url,
        token_url=f"{emulator_url}/oauth2/v3/token",
        requests_per_second=300,
        requests_per_hour=10**7,
        daily_history_months=1,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        kafka=kafka_settings,
    )
    kafka = KafkaPublisher(kafka_settings, client_id="test-consent-flow")
    await kafka.start()
    try:
        async with bootstrap(
            settings,
            publisher=kafka,
            pool=pg_pool,
            streams=(Stream.DAILY_CONSUMPTION,),
        ) as runtime:
            yield runtime.collector
    finally:
        await kafka.stop()


def _bearer(town: Town, who: demo.Resident) -> dict[str, str]:
    return {"authorization": f"Bearer {town.tokens[who.email]}"}


async def _start(town: Town, who: demo.Resident) -> str:
    """Request 1: the consent redirect; the api client keeps the state cookie."""
    r = await town.api.get("/v1/enedis/consent", headers=_bearer(town, who))
    assert r.status_code == 307
    return r.headers["location"]


async def _daily(town: Town, who: demo.Resident, prm: str) -> httpx.Response:
    return await town.api.get(
        f"/v1/meters/{prm}/daily",
        params={"start": "2026-01-01", "end": "2026-02-01"},
        headers=_bearer(town, who),
    )


async def _my_meters(town: Town, who: demo.Resident) -> set[str]:
    r = await town.api.get("/v1/meters", headers=_bearer(town, who))
    assert r.status_code == 200
    return {m["meter_id"] for m in r.json()["items"]}


async def _consent_of(pool: asyncpg.Pool, email: str, prm: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        """SELECT c.verification, c.verification_reason, c.revoked_at
           FROM consents c JOIN people p USING (person_id)
           WHERE p.email = $1 AND c.meter_id = $2""",
        email,
        prm,
    )
    assert row is not None
    return row


async def _owner_state(pool: asyncpg.Pool, owner: demo.Resident) -> list[tuple]:
    rows = await pool.fetch(
        """SELECT c.consent_id, c.verification, c.revoked_at, c.verified_at,
                  (SELECT count(*) FROM consent_audit a
                   WHERE a.consent_id = c.consent_id) AS audited
           FROM consents c JOIN people p USING (person_id)
           WHERE p.email = $1 ORDER BY c.consent_id""",
        owner.email,
    )
    return [tuple(r) for r in rows]


async def _put_daily(pool: asyncpg.Pool, prm: str, days: list[date]) -> None:
    series = await pool.fetchval(
        """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension,
                               unit, period)
           VALUES ($1, $2, 'prm', 'consumption', 'interval', 'energy', 'Wh', 'daily')
           RETURNING series_id""",
        f"urn:dev:prm:{prm}_consumption/energy/active/daily",
        prm,
    )
    rows = []
    for day in days:
        start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
        end = start + timedelta(days=1)
        rows.append((series, start.astimezone(UTC), end.astimezone(UTC), 5000.0))
    await pool.executemany(
        "INSERT INTO readings (series_id, start_ts, end_ts, value, quality) "
        "VALUES ($1, $2, $3, $4, 1)",
        rows,
    )


@pytest.mark.parametrize("several", [False, True], ids=["one-prm", "several-prms"])
async def test_the_three_request_attack_yields_nothing_and_revokes_nothing(
    town: Town, collector: Collector, several: bool
) -> None:
    victim = town.owner.meters[0]
    await _put_daily(town.pool, victim, [date(2026, 1, 5), date(2026, 1, 6)])
    before = await _owner_state(town.pool, town.owner)
    assert (await _daily(town, town.owner, victim)).json()["items"]  # theirs

    # request 1: the consent redirect (keeps the state cookie)
    location = await _start(town, town.attacker)
    state = parse_qs(urlparse(location).query)["state"][0]
    # request 2: the callback, forged with the neighbour's PRM (and more)
    neighbours = [victim]
    if several:
        unheld = town.newcomer.meters[0]  # held by nobody in SEN1 yet
        neighbours += [unheld, UNKNOWN_PRM]
    forged = await town.api.get(
        "/v1/enedis/callback",
        params={"state": state, "usage_point_id": ";".join(neighbours)},
        headers=_bearer(town, town.attacker),
    )
    assert forged.status_code == 303
    assert forged.headers["location"] == "/resident?consent=pending"
    # request 3: the neighbour's daily kWh
    for prm in neighbours:
        assert (await _daily(town, town.attacker, prm)).status_code == 404
    assert not set(neighbours) & await _my_meters(town, town.attacker)

    # ingest-enedis' next cycle: verification over real HTTP, then collection
    report = await collector.run_cycle()
    assert report.verification is not None
    assert report.stopped == []
    assert report.prms == 1  # the owner's PRM only; nothing forged is collected
    attacker = town.attacker.email
    held = await _consent_of(town.pool, attacker, victim)
    assert (held["verification"], held["verification_reason"]) == (
        "to_verify",
        "held_by_another",
    )
    if several:
        mismatch = await _consent_of(town.pool, attacker, town.newcomer.meters[0])
        assert mismatch["verification"] == "to_verify"
        assert mismatch["verification_reason"] == "identity_mismatch"
        refused = await _consent_of(town.pool, attacker, UNKNOWN_PRM)
        assert refused["verification"] == "rejected"
        assert "ADAM-DC-0008" in refused["verification_reason"]
    for prm in neighbours:
        assert (await _daily(town, town.attacker, prm)).status_code == 404
    assert not set(neighbours) & await _my_meters(town, town.attacker)
    # the owner's consent is exactly as it was (not revoked, not re-audited)
    assert await _owner_state(town.pool, town.owner) == before
    mine = await _daily(town, town.owner, victim)
    assert [d["kwh"] for d in mine.json()["items"]] == [5.0, 5.0]
    async with town.pool.acquire() as conn:
        assert await cursor.consented_prms(conn, datetime.now(UTC)) == [victim]
    # every decision was audited
    events = await town.pool.fetch(
        """SELECT a.event, a.meter_id, a.actor FROM consent_audit a
           JOIN people p USING (person_id) WHERE p.email = $1 ORDER BY audit_id""",
        attacker,
    )
    assert [(e["event"], e["meter_id"]) for e in events if e["meter_id"] == victim] == [
        ("recorded", victim),
        ("mismatch", victim),
    ]
    assert {e["actor"] for e in events} >= {"ingest-enedis"}


async def test_a_resident_consenting_on_the_consent_page_is_verified_from_their_move_in(
    town: Town, collector: Collector
) -> None:
    who = town.newcomer
    prm = who.meters[0]
    meter = profiles.demo_meter(
        prm, [str(p) for p in town.territory.prms].index(prm), datetime.now(UTC).date()
    )
    moved_in = meter.activation  # what customers v5 contracts says
    # a previous occupant's days, and the newcomer's
    await _put_daily(
        town.pool,
        prm,
        [moved_in - timedelta(days=2), moved_in - timedelta(days=1), moved_in],
    )
    location = await _start(town, who)
    async with httpx.AsyncClient() as browser:  # the emulator's consent page
        page = await browser.post(location, data={"login": who.email})
    assert page.status_code == 302, page.text
    back = urlparse(page.headers["location"])
    assert back.path == "/v1/enedis/callback"
    query = parse_qs(back.query)
    assert query["usage_point_id"] == [prm]  # the PRMs the account holds
    done = await town.api.get(
        back.path, params=query, headers=_bearer(town, who)
    )  # the browser carries the state cookie the api set
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/resident?consent=pending"
    assert prm not in await _my_meters(town, who)  # nothing before verification

    report = await collector.run_cycle()
    assert report.verification is not None
    assert report.verification.verified == [prm]
    assert prm in await _my_meters(town, who)
    span = {
        "start": str(moved_in - timedelta(days=5)),
        "end": str(moved_in + timedelta(days=2)),
    }
    r = await town.api.get(
        f"/v1/meters/{prm}/daily", params=span, headers=_bearer(town, who)
    )
    assert r.status_code == 200
    assert [d["period"] for d in r.json()["items"]] == [str(moved_in)]
    occupancy = await town.pool.fetchrow(
        "SELECT starts_at, source FROM occupancies WHERE delivery_point_id = $1", prm
    )
    assert occupancy["source"] == "enedis-contract"
    assert occupancy["starts_at"] == datetime(
        moved_in.year, moved_in.month, moved_in.day, tzinfo=PARIS
    )


async def test_the_consent_page_refuses_an_unknown_account(town: Town) -> None:
    location = await _start(town, town.attacker)
    async with httpx.AsyncClient() as browser:
        page = await browser.post(location, data={"login": "nobody@example.org"})
    assert page.status_code == 302
    query = parse_qs(urlparse(page.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert "usage_point_id" not in query
