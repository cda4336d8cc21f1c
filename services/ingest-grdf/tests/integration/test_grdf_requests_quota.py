"""The shared quota (two workers, one PostgreSQL count) and the dashboard's
requests (``grdf_requests``) run against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from typing import Any

import asyncpg
import pytest

from energy_core.testing import InMemoryPublisher
from ingest_grdf.client import DailyCapReachedError

from .conftest import Emulator
from .test_grdf_collection import service_on

pytestmark = pytest.mark.integration


async def test_daily_cap_and_spacing_are_shared_by_two_workers(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """Two workers (two bootstraps: two clients, two limiters, as two processes
    would have) share one cap of 12 calls and one 1/20 s spacing: together they
    make exactly 12 calls, then both are refused; the emulator, enforcing 20
    calls/s itself, never throttles them."""
    emulator: Emulator = await emulator_factory(requests_per_second=20)
    cap, rate = 12, 20.0
    publisher = InMemoryPublisher()
    made: list[int] = [0, 0]
    refused: list[int] = [0, 0]

    async def worker(index: int) -> None:
        async with service_on(
            emulator, pg_pool, publisher, daily_cap=cap, requests_per_second=rate
        ) as runtime:
            for _ in range(10):
                try:
                    await runtime.client.rights()
                except DailyCapReachedError:
                    refused[index] += 1
                else:
                    made[index] += 1

    before = (await emulator.stats())["calls"]
    started = time.monotonic()
    await asyncio.gather(worker(0), worker(1))
    elapsed = time.monotonic() - started
    stats = await emulator.stats()
    assert sum(made) == cap, made
    assert min(made) > 0, "both workers took slots from the one count"
    assert sum(refused) == 20 - cap
    # rights() also asks a token: only data calls are counted by the quota
    assert stats["throttled"] == 0, "spacing held across the two limiters"
    assert stats["calls"] - before >= cap
    assert elapsed >= (cap - 1) / rate, "calls spaced by 1/rate, not 2/rate"
    used = await pg_pool.fetchval("SELECT sum(used) FROM grdf_quota")
    assert used == cap


async def _declare(
    pool: Any,
    pce: str,
    person: Any,
    consent: Any,
    who: dict[str, Any],
    today: date,
    postcode: str,
) -> None:
    """A resident's pending declaration of ``pce`` for the holder ``who`` (named,
    with ``postcode``): the past year of data, a right of one year."""
    await pool.execute(
        "INSERT INTO grdf_requests (kind, meter_id, person_id, consent_id, holder,"
        " data_from, data_until, right_end) VALUES ('declare', $1, $2, $3, $4,"
        " $5, $6, $6)",
        pce,
        person,
        consent,
        json.dumps(
            {
                "name": who["nom_titulaire"],
                "email": who["courriel_titulaire"],
                "postcode": postcode,
            }
        ),
        today.replace(year=today.year - 1),
        today.replace(year=today.year + 1),
    )


async def _resident_on(pool: asyncpg.Pool, pce: str) -> tuple[Any, Any]:
    person = await pool.fetchval(
        "INSERT INTO people (display_name) VALUES ('r') RETURNING person_id"
    )
    await pool.execute(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector)"
        " VALUES ($1, 'pce', 'gas', 'consumption', 'residential')"
        " ON CONFLICT DO NOTHING",
        pce,
    )
    consent = await pool.fetchval(
        "INSERT INTO consents (person_id, meter_id, purpose, source, starts_at,"
        " expires_at, data_from) VALUES ($1, $2, 'grdf-adict-collection', 'grdf',"
        " now(), now() + interval '2 years', now() - interval '400 days')"
        " RETURNING consent_id",
        person,
        pce,
    )
    return person, consent


async def test_dashboard_requests_declare_proofs_revoke(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """declare (queued by the api) → the holder accepts → the pending consent is
    verified and the person occupies the PCE from the data window's start →
    GRDF asks proofs (state, metric) → proofs sent → revoke: GRDF's right is
    revoked and collection of the PCE stops."""
    emulator: Emulator = await emulator_factory()
    publisher = InMemoryPublisher()
    holders = await emulator.holders()
    pce, who = next(
        (p, h)
        for p, h in holders.items()
        if h["nom_titulaire"] and p.startswith("2138")
    )
    person, consent = await _resident_on(pg_pool, pce)
    holder = {
        "name": who["nom_titulaire"],
        "company": None,
        "email": who["courriel_titulaire"],
        "postcode": who["code_postal"],
    }
    async with service_on(emulator, pg_pool, publisher) as runtime:
        today = runtime.service.today()
        await pg_pool.execute(
            "INSERT INTO grdf_requests (kind, meter_id, person_id, consent_id, holder,"
            " scopes, data_from, data_until, right_end) VALUES ('declare', $1, $2,"
            " $3, $4, $5, $6, $7, $8)",
            pce,
            person,
            consent,
            json.dumps(holder),
            json.dumps(["perim_donnees_informatives", "perim_donnees_publiees"]),
            today.replace(year=today.year - 1),
            today.replace(year=today.year + 1),
            today.replace(year=today.year + 1),
        )
        assert await runtime.service.handle_requests() == 1
        request = await pg_pool.fetchrow("SELECT * FROM grdf_requests")
        assert request["status"] == "done", request["error_message"]
        right = await pg_pool.fetchrow(
            "SELECT right_id, state, data_from FROM grdf_rights WHERE meter_id = $1",
            pce,
        )
        assert right["state"] == "pending"
        assert right["data_from"] == today.replace(year=today.year - 1)
        emulated = emulator.state.rights.by_id[right["right_id"]]
        assert emulated.perims["perim_donnees_contractuelles"] is False, "scopes asked"
        assert emulated.perims["perim_donnees_informatives"] is True
        await emulator.hook(f"rights/{right['right_id']}/accept")
        await runtime.service.check_rights()
        verification = await pg_pool.fetchval(
            "SELECT verification FROM consents WHERE consent_id = $1", consent
        )
        assert verification == "verified"
        occupancy = await pg_pool.fetchrow(
            "SELECT source, starts_at FROM occupancies WHERE person_id = $1", person
        )
        assert occupancy["source"] == "grdf-right"
        readable = await pg_pool.fetchval(
            "SELECT count(*) FROM meter_access($1, now()) WHERE meter_id = $2",
            person,
            pce,
        )
        assert readable == 1

        # GRDF asks for proofs: the state and the metric say so
        await emulator.hook(f"rights/{right['right_id']}/request_proof")
        await runtime.service.check_rights()
        proof = await pg_pool.fetchrow(
            "SELECT proof_status, proof_deadline FROM grdf_rights WHERE meter_id = $1",
            pce,
        )
        assert proof["proof_status"] == "requested"
        assert proof["proof_deadline"] is not None
        from ingest_grdf import metrics

        assert metrics.PROOFS.labels("requested")._value.get() >= 1
        request_id = await pg_pool.fetchval(
            "INSERT INTO grdf_requests (kind, meter_id, person_id)"
            " VALUES ('proofs', $1, $2) RETURNING request_id",
            pce,
            person,
        )
        await pg_pool.execute(
            "INSERT INTO grdf_request_files VALUES ($1, 0, 'bail.pdf',"
            " 'application/pdf', $2)",
            request_id,
            b"%PDF-1.4 a lease",
        )
        await runtime.service.handle_requests()
        assert emulated.statut_controle_preuve == "Preuve en cours de vérification"
        assert await pg_pool.fetchval("SELECT count(*) FROM grdf_request_files") == 0
        assert (
            await pg_pool.fetchval(
                "SELECT status FROM grdf_requests WHERE request_id = $1", request_id
            )
            == "done"
        )

        # collect, then revoke from the dashboard: collection of the PCE stops
        await runtime.service.run_cycle()
        asked: list[str] = []
        informatives = runtime.client.informatives

        async def recording(pce_asked: str, start: str, end: str) -> Any:
            asked.append(pce_asked)
            return await informatives(pce_asked, start, end)

        runtime.client.informatives = recording  # type: ignore[method-assign]
        await pg_pool.execute(
            "INSERT INTO grdf_requests (kind, meter_id, person_id)"
            " VALUES ('revoke', $1, $2)",
            pce,
            person,
        )
        await runtime.service.handle_requests()
        assert emulated.etat == "Révoquée"
        state = await pg_pool.fetchval(
            "SELECT state FROM grdf_rights WHERE meter_id = $1", pce
        )
        assert state == "revoked"
        from datetime import timedelta

        emulator.clock.now += timedelta(days=1)
        await runtime.service.run_cycle()
        assert pce not in asked, "no data call after the revocation"


async def test_a_refused_declaration_says_grdf_s_words(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """GRDF's 409 (postcode mismatch) is the request's outcome, with its code and
    message, for the person who asked; the worker goes on."""
    emulator: Emulator = await emulator_factory()
    publisher = InMemoryPublisher()
    holders = await emulator.holders()
    pce, who = next(
        (p, h)
        for p, h in holders.items()
        if h["nom_titulaire"] and p.startswith("2138")
    )
    person, consent = await _resident_on(pg_pool, pce)
    wrong = "75001" if who["code_postal"] != "75001" else "13001"
    async with service_on(emulator, pg_pool, publisher) as runtime:
        today = runtime.service.today()
        await _declare(pg_pool, pce, person, consent, who, today, wrong)
        assert await runtime.service.handle_requests() == 1
        row = await pg_pool.fetchrow(
            "SELECT status, error_code, error_message FROM grdf_requests"
        )
        assert row["status"] == "failed"
        assert row["error_code"].startswith("10000000")
        assert row["error_message"]
        assert await pg_pool.fetchval("SELECT count(*) FROM grdf_rights") == 0


async def test_a_declaration_that_met_grdf_down_is_retried_with_backoff(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """ADICT in maintenance (503 on every try of the client) → the request goes
    back to ``queued`` with a retry instant 30 s on (not claimed for 10 min, not
    failed), is not claimed before it, and once GRDF answers again it is
    declared; the 503s came from the emulator's fault hook."""
    emulator: Emulator = await emulator_factory()
    publisher = InMemoryPublisher()
    holders = await emulator.holders()
    pce, who = next(
        (p, h)
        for p, h in holders.items()
        if h["nom_titulaire"] and p.startswith("2138")
    )
    person, consent = await _resident_on(pg_pool, pce)
    async with service_on(
        emulator, pg_pool, publisher, max_attempts=2, backoff_base_s=0.01
    ) as runtime:
        today = runtime.service.today()
        await _declare(pg_pool, pce, person, consent, who, today, who["code_postal"])
        await emulator.hook("faults", {"status": 503, "count": 2})
        assert await runtime.service.handle_requests() == 1
        row = await pg_pool.fetchrow(
            "SELECT status, attempts, error_message, retry_at - now() AS wait"
            " FROM grdf_requests"
        )
        assert row["status"] == "queued", "queued again, not left claimed"
        assert row["attempts"] == 1
        assert "503" in row["error_message"]
        assert 25 < row["wait"].total_seconds() <= 30
        assert await runtime.service.handle_requests() == 0, "not before retry_at"
        await pg_pool.execute("UPDATE grdf_requests SET retry_at = now()")
        assert await runtime.service.handle_requests() == 1
        row = await pg_pool.fetchrow(
            "SELECT status, attempts, retry_at FROM grdf_requests"
        )
        assert row["status"] == "done"
        assert row["attempts"] == 2
        assert row["retry_at"] is None
        state = await pg_pool.fetchval(
            "SELECT state FROM grdf_rights WHERE meter_id = $1", pce
        )
        assert state == "pending"


async def test_proofs_not_sent_by_the_deadline_grdf_revokes_and_sen1_follows(
    emulator_factory: Any, pg_pool: asyncpg.Pool
) -> None:
    """GRDF asks proofs with a deadline; none arrive: the day after it GRDF
    lists the right Révoquée (source GRDF) and its data calls answer 1000011;
    SEN1's mirror follows GRDF's state (revoked, consents ended, collection
    stopped), it does not decide by itself before."""
    emulator: Emulator = await emulator_factory(proof_deadline_days=10)
    publisher = InMemoryPublisher()
    holders = await emulator.holders()
    pce, who = next(
        (p, h)
        for p, h in holders.items()
        if h["nom_titulaire"] and p.startswith("2138")
    )
    _, consent = await _resident_on(pg_pool, pce)
    from datetime import timedelta

    from ingest_grdf.mapping import Holder

    async with service_on(emulator, pg_pool, publisher) as runtime:
        right = await runtime.service.declare(
            pce,
            Holder(
                name=who["nom_titulaire"],
                company=None,
                email=who["courriel_titulaire"],
                postcode=who["code_postal"],
            ),
        )
        await emulator.hook(f"rights/{right.right_id}/accept")
        await emulator.hook(f"rights/{right.right_id}/request_proof")
        await runtime.service.check_rights()
        mirrored = await pg_pool.fetchrow(
            "SELECT state, proof_status, proof_deadline FROM grdf_rights"
            " WHERE meter_id = $1",
            pce,
        )
        assert mirrored["state"] == "active"
        assert mirrored["proof_status"] == "requested"
        assert mirrored["proof_deadline"] == runtime.service.today() + timedelta(10)

        emulator.clock.now += timedelta(days=10)  # the deadline itself: still live
        await runtime.service.check_rights()
        assert (
            await pg_pool.fetchval(
                "SELECT state FROM grdf_rights WHERE meter_id = $1", pce
            )
            == "active"
        )
        emulator.clock.now += timedelta(days=1)  # the day after: GRDF revoked it
        listed = emulator.state.rights.by_id[right.right_id].to_json(
            emulator.state.today(), "x", True
        )
        assert listed["etat_droit_acces"] == "Révoquée"
        assert listed["source_revocation"] == "GRDF"
        parsed = await runtime.client.informatives(
            pce,
            (runtime.service.today() - timedelta(days=5)).isoformat(),
            runtime.service.today().isoformat(),
        )
        assert parsed.objects[0]["statut_restitution"]["code"] == "1000011"
        await runtime.service.check_rights()
        assert (
            await pg_pool.fetchval(
                "SELECT state FROM grdf_rights WHERE meter_id = $1", pce
            )
            == "revoked"
        )
        assert await pg_pool.fetchval(
            "SELECT revoked_at IS NOT NULL FROM consents WHERE consent_id = $1",
            consent,
        ), "SEN1's consent ended with GRDF's right"
