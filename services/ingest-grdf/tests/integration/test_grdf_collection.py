"""ingest-grdf against the ADICT emulator over real HTTP, with real PostgreSQL.

declare → active → collect → revoke → collection stops; DST gas days;
Provisoire replaced by Définitive; a 429 storm and an expired token lose nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from energy_core import topics
from energy_core.domain.readings import Energy, Quality, ReadingBatch
from energy_core.domain.time import PARIS
from energy_core.domain.units import Unit
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from energy_store import demo as demo_territory
from ingest_grdf.bootstrap import Runtime, bootstrap
from ingest_grdf.mapping import Holder, RightState
from ingest_grdf.settings import OKTA_TOKEN_PATH, SOFIT_TOKEN_PATH, Settings

from .conftest import Emulator

GAS_WATCH_S = 240.0
"""How long the make-run-settings test waits for every demo PCE's data."""
DEMO_PCES = sum(1 for m in demo_territory.build().meters if m.energy is Energy.GAS)
"""Gas points of the demo territory (every one declared by `make run`)."""

pytestmark = pytest.mark.integration


def settings_for(emulator: Emulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "base_url": f"{emulator.base}/adict/v2",
        "token_url": f"{emulator.base}{OKTA_TOKEN_PATH}",
        "requests_per_second": 1000,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def service_on(
    emulator: Emulator,
    pool: asyncpg.Pool,
    publisher: InMemoryPublisher,
    **overrides: Any,
) -> AsyncIterator[Runtime]:
    async with bootstrap(
        settings_for(emulator, **overrides),
        publisher=publisher,
        pool=pool,
        clock=emulator.clock,
    ) as runtime:
        yield runtime


@asynccontextmanager
async def served(
    emulator_factory: Any, pool: asyncpg.Pool, **overrides: Any
) -> AsyncIterator[tuple[Emulator, InMemoryPublisher, Runtime]]:
    """A new emulator and the service on it (``overrides`` are its settings),
    publishing into memory: (the emulator, the publisher, the runtime)."""
    emulator: Emulator = await emulator_factory()
    publisher = InMemoryPublisher()
    async with service_on(emulator, pool, publisher, **overrides) as runtime:
        yield emulator, publisher, runtime


def holder_of(who: dict[str, Any]) -> Holder:
    """The declaration identity of a holder as the emulator lists it."""
    return Holder(
        who["nom_titulaire"], None, who["courriel_titulaire"], who["code_postal"]
    )


async def right_column(pool: asyncpg.Pool, pce: str, column: str) -> Any:
    """One column of the PCE's row in ``grdf_rights``."""
    return await pool.fetchval(
        f"SELECT {column} FROM grdf_rights WHERE meter_id = $1",  # noqa: S608 - a literal of the test
        pce,
    )


def batches(publisher: InMemoryPublisher, pce: str) -> list[ReadingBatch]:
    return [
        batch_from_proto(value)
        for key, value in publisher.sent[topics.READINGS]
        if key == pce and value is not None
    ]


def daily_kwh(publisher: InMemoryPublisher, pce: str) -> dict[Any, Any]:
    """Start → the last reading published for it (kWh, daily channel)."""
    out = {}
    for batch in batches(publisher, pce):
        for r in batch.readings:
            if r.unit is Unit.KWH and r.channel == "":
                out[r.start] = r
    return out


async def declared_and_active(runtime: Runtime, emulator: Emulator) -> str:
    """A demo resident's PCE, declared with the holder's identity and accepted."""
    holders = await emulator.holders()
    pce, who = next(
        (p, h)
        for p, h in holders.items()
        if h["nom_titulaire"] and p.startswith("2138")
    )
    right = await runtime.service.declare(pce, holder_of(who))
    assert right.state is RightState.PENDING
    await emulator.hook(f"rights/{right.right_id}/accept")
    return pce


async def test_declare_active_collect_revoke_stops(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    async with served(emulator_factory, pg_pool) as (emulator, publisher, runtime):
        pce = await declared_and_active(runtime, emulator)
        # pending: nothing is collected before the holder accepts
        await runtime.service.run_cycle()
        readings = daily_kwh(publisher, pce)
        assert readings, "an Active right gives the PCE's history"
        days = sorted(r.start.astimezone(PARIS).date() for r in readings.values())
        today = emulator.clock.now.astimezone(PARIS).date()
        # 3 years back, clamped to the right's data window; J is published on J+2
        assert days[-1] == today - timedelta(days=2)
        assert days[0] == today.replace(year=today.year - 3)
        assert len(days) == (days[-1] - days[0]).days + 1, "no day lost"
        for batch in batches(publisher, pce):
            assert batch.energy is Energy.GAS
        row = await pg_pool.fetchrow(
            "SELECT state, informatives_until, car_kwh, tariff_option FROM grdf_rights"
            " WHERE meter_id = $1",
            pce,
        )
        assert row["state"] == "active"
        assert row["informatives_until"] == today
        assert row["car_kwh"] > 0
        assert row["tariff_option"]
        granted = [k for k, _ in publisher.sent[topics.CONSENT_EVENTS] if k == pce]
        assert granted, "GRDF's Active state reached SEN1 as a consent event"

        assert await runtime.service.revoke(pce)
        asked: list[str] = []
        informatives = runtime.client.informatives

        async def recording(pce_asked: str, start: str, end: str) -> Any:
            asked.append(pce_asked)
            return await informatives(pce_asked, start, end)

        runtime.client.informatives = recording  # type: ignore[method-assign]
        sent_before = len(batches(publisher, pce))
        emulator.clock.now += timedelta(days=1)
        await runtime.service.run_cycle()
        assert asked, "the other PCEs (the sandbox's) are still collected"
        assert pce not in asked, "no data call for a revoked right"
        assert len(batches(publisher, pce)) == sent_before
        state = await right_column(pg_pool, pce, "state")
        assert state == "revoked"


async def test_holder_revocation_stops_collection(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    async with served(emulator_factory, pg_pool) as (emulator, publisher, runtime):
        pce = await declared_and_active(runtime, emulator)
        await runtime.service.run_cycle()
        right_id = await right_column(pg_pool, pce, "right_id")
        person = await pg_pool.fetchval(
            "INSERT INTO people (display_name) VALUES ('r') RETURNING person_id"
        )
        await pg_pool.execute(
            "INSERT INTO meters (meter_id, scheme, energy, direction, sector)"
            " VALUES ($1, 'pce', 'gas', 'consumption', 'residential')",
            pce,
        )
        consent = await pg_pool.fetchval(
            "INSERT INTO consents (person_id, meter_id, purpose, starts_at, expires_at)"
            " VALUES ($1, $2, 'dashboard', now() - interval '1 day',"
            " now() + interval '1 year') RETURNING consent_id",
            person,
            pce,
        )
        await emulator.hook(f"rights/{right_id}/revoke")  # the holder's own
        sent = len(batches(publisher, pce))
        emulator.clock.now += timedelta(days=1)
        await runtime.service.run_cycle()  # the data call answers 1000014
        assert len(batches(publisher, pce)) == sent
        revoked_at = await pg_pool.fetchval(
            "SELECT revoked_at FROM consents WHERE consent_id = $1", consent
        )
        assert revoked_at is not None, "SEN1's consent follows GRDF's revocation"
        state = await right_column(pg_pool, pce, "state")
        assert state == "revoked"


async def test_dst_gas_days_last_23_and_25_hours(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    async with served(emulator_factory, pg_pool) as (emulator, publisher, runtime):
        pce = await declared_and_active(runtime, emulator)
        await runtime.service.run_cycle()
        lengths = {
            r.start.astimezone(PARIS).date().isoformat(): r.end - r.start
            for r in daily_kwh(publisher, pce).values()
        }
        assert lengths["2026-03-28"] == timedelta(hours=23)
        assert lengths["2026-10-24"] == timedelta(hours=25)
        assert lengths["2026-06-01"] == timedelta(hours=24)


async def test_provisional_then_definitive(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    async with served(emulator_factory, pg_pool) as (emulator, publisher, runtime):
        pce = await declared_and_active(runtime, emulator)
        await runtime.service.run_cycle()
        first = daily_kwh(publisher, pce)
        newest = max(first)
        assert first[newest].quality is Quality.RAW  # J-2: Provisoire
        emulator.clock.now += timedelta(days=5)
        await runtime.service.run_cycle()  # the sliding window D-7..D
        again = daily_kwh(publisher, pce)
        assert again[newest].quality is Quality.CORRECTED  # now Définitive
        assert again[newest].quality.rank > first[newest].quality.rank
        assert max(again) > newest  # and the new days came


async def test_429_storm_and_expired_token_lose_nothing(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    async with served(
        emulator_factory, pg_pool, backfill_chunk_days=30, max_attempts=12
    ) as (emulator, publisher, runtime):
        pce = await declared_and_active(runtime, emulator)
        renewals = runtime.client.tokens.renewals
        await emulator.hook("tokens_expire")
        await emulator.hook("faults", {"status": 429, "count": 6})
        await runtime.service.run_cycle()
        await emulator.hook("faults", {"status": 503, "count": 3})
        emulator.clock.now += timedelta(days=1)
        await runtime.service.run_cycle()
        assert runtime.client.tokens.renewals > renewals
        days = sorted(
            r.start.astimezone(PARIS).date() for r in daily_kwh(publisher, pce).values()
        )
        assert len(days) == (days[-1] - days[0]).days + 1, "no day lost"
        assert (await emulator.stats())["faults"] == 0


async def test_sofit_token_endpoint_works_too(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    emulator: Emulator = await emulator_factory()
    publisher = InMemoryPublisher()
    async with service_on(
        emulator,
        pg_pool,
        publisher,
        token_url=f"{emulator.base}{SOFIT_TOKEN_PATH}",
        base_url=f"{emulator.base}/adict/bas/v6",
        scope="/adict/bas/v6",
        injections_path="donnees_injection_publiees",
    ) as runtime:
        rights = await runtime.service.check_rights()
        # the sandbox's pre-existing rights, read from pretty-printed objects
        by_pce = {str(r.pce): r.state for r in rights}
        assert by_pce["09999999900617"] is RightState.ACTIVE
        assert by_pce["09999999932770"] is RightState.REVOKED
        assert by_pce["09999999930215"] is RightState.EXPIRED
        await runtime.service.run_cycle()
        assert daily_kwh(publisher, "09999999900617")
        assert not daily_kwh(publisher, "09999999932770")
        # the biomethane point: monthly injection totals through the misspelt path
        injected = [
            r
            for b in batches(publisher, "GI151947")
            for r in b.readings
            if r.direction.value == "production"
        ]
        assert injected
        assert {r.channel for r in injected} == {"published"}


async def test_demo_declarations_are_accepted_by_the_demo_holders(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """`make run`'s declarations: every demo PCE, each holder's own identity."""
    import asyncio

    from ingest_grdf.__main__ import declare_demo

    emulator: Emulator = await emulator_factory(holder_auto_accept_s=0.05)
    publisher = InMemoryPublisher()
    async with service_on(emulator, pg_pool, publisher) as runtime:
        declared = await declare_demo(runtime.service)
        assert declared == DEMO_PCES
        await asyncio.sleep(0.2)
        rights = await runtime.service.check_rights()
        demo = [r for r in rights if str(r.pce).startswith("2138")]
        assert len(demo) == DEMO_PCES
        assert {r.state for r in demo} == {RightState.ACTIVE}
        assert await declare_demo(runtime.service) == 0  # idempotent on restart


async def test_make_run_settings_give_every_demo_pce_data(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """The settings `make run` gives both processes (their stack entries), the
    holders answering after 5 s as in `make run`: every demo PCE gets readings.

    How soon is printed and measured by bench/demo_time_to_alive.py (issue 13's
    "a minute after make run"), not asserted here: the fill is CPU-bound, so a
    wall-clock assertion fails on a loaded machine whatever the code does (it did,
    at load average 5-11). :data:`GAS_WATCH_S` bounds a fill that never ends."""
    import asyncio
    import time

    from grdf_emulator.stack import processes as emulator_processes
    from ingest_grdf.__main__ import declare_demo
    from ingest_grdf.service import run_forever
    from ingest_grdf.stack import processes

    ctx = {"host": "127.0.0.1", "python": "python"}
    emulator_env = emulator_processes(ctx)[0]["env"]
    service_env = processes(ctx)[0]["env"]
    emulator: Emulator = await emulator_factory(
        requests_per_second=float(emulator_env["GRDF_EMULATOR_REQUESTS_PER_SECOND"]),
        holder_auto_accept_s=float(emulator_env["GRDF_EMULATOR_HOLDER_AUTO_ACCEPT_S"]),
    )
    emulator.clock.now = datetime.now(UTC)
    publisher = InMemoryPublisher()
    began = time.monotonic()
    async with service_on(
        emulator,
        pg_pool,
        publisher,
        requests_per_second=1.0,
        quota_time_scale=float(service_env["INGEST_GRDF_QUOTA_TIME_SCALE"]),
        cycle_interval_s=float(service_env["INGEST_GRDF_CYCLE_INTERVAL_S"]),
        rights_check_interval_s=float(
            service_env["INGEST_GRDF_RIGHTS_CHECK_INTERVAL_S"]
        ),
        workers=int(service_env["INGEST_GRDF_WORKERS"]),
        informative_years=int(service_env["INGEST_GRDF_INFORMATIVE_YEARS"]),
    ) as runtime:
        assert await declare_demo(runtime.service) == DEMO_PCES
        stop = asyncio.Event()
        loop = asyncio.create_task(
            run_forever(runtime.service, stop, runtime.settings.cycle_interval_s)
        )
        demo: set[str] = set()
        while time.monotonic() - began < GAS_WATCH_S and len(demo) < DEMO_PCES:
            await asyncio.sleep(1)
            demo = {
                k for k, _ in publisher.sent[topics.READINGS] if k.startswith("2138")
            }
        stop.set()
        await loop
        took = time.monotonic() - began
    print(f"\n{len(demo)}/{DEMO_PCES} demo PCEs with gas data after {took:.1f} s")  # noqa: T201
    assert len(demo) == DEMO_PCES, f"{len(demo)} demo PCEs with data after {took:.0f} s"
    assert (await emulator.stats())["throttled"] == 0


async def test_proofs_are_sent_when_grdf_asks(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    from ingest_grdf.client import AdictRefusedError

    async with served(emulator_factory, pg_pool) as (emulator, _publisher, runtime):
        pce = await declared_and_active(runtime, emulator)
        await runtime.service.check_rights()
        proof = [("bail.pdf", b"%PDF-1.4 a lease", "application/pdf")]
        with pytest.raises(AdictRefusedError) as not_asked:
            await runtime.service.upload_proofs(pce, proof)
        assert not_asked.value.status == 409
        right_id = await right_column(pg_pool, pce, "right_id")
        await emulator.hook(f"rights/{right_id}/request_proof")
        with pytest.raises(AdictRefusedError):  # not a PDF/PNG/JPEG
            await runtime.service.upload_proofs(pce, [("x.txt", b"text", "text/plain")])
        await runtime.service.upload_proofs(pce, proof)
        right = emulator.state.rights.by_id[right_id]
        assert right.statut_controle_preuve == "Preuve en cours de vérification"


async def test_grdf_answer_decides_the_pending_consent(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """The holder accepting GRDF's request verifies SEN1's pending consent on the
    PCE (with its audit line); a refusal rejects it."""
    async with served(emulator_factory, pg_pool) as (emulator, _publisher, runtime):
        holders = await emulator.holders()
        residents = [
            (p, h)
            for p, h in holders.items()
            if h["nom_titulaire"] and p.startswith("2138")
        ]
        consents = {}
        for pce, _ in residents[:2]:
            person = await pg_pool.fetchval(
                "INSERT INTO people (display_name) VALUES ('r') RETURNING person_id"
            )
            await pg_pool.execute(
                "INSERT INTO meters (meter_id, scheme, energy, direction, sector)"
                " VALUES ($1, 'pce', 'gas', 'consumption', 'residential')",
                pce,
            )
            consents[pce] = await pg_pool.fetchval(
                "INSERT INTO consents (person_id, meter_id, purpose, source, starts_at,"
                " expires_at) VALUES ($1, $2, 'dashboard', 'grdf', now(),"
                " now() + interval '1 year') RETURNING consent_id",
                person,
                pce,
            )
        accepted, refused = residents[0][0], residents[1][0]
        for pce, who in residents[:2]:
            right = await runtime.service.declare(pce, holder_of(who))
            action = "accept" if pce == accepted else "refuse"
            await emulator.hook(f"rights/{right.right_id}/{action}")
        await runtime.service.check_rights()
        rows = {
            r["meter_id"]: r
            for r in await pg_pool.fetch(
                "SELECT meter_id, verification, verified_by FROM consents"
            )
        }
        assert rows[accepted]["verification"] == "verified"
        assert rows[accepted]["verified_by"] == "ingest-grdf"
        assert rows[refused]["verification"] == "rejected"
        audit = await pg_pool.fetchval(
            "SELECT count(*) FROM consent_audit WHERE consent_id = $1",
            consents[accepted],
        )
        assert audit >= 2  # recorded, then verified
