"""The enrolment worker against emulators/sge over mutual TLS and PostgreSQL:
SGE's authorisation refusal lands in the consent registry and the site shows
``refused``; a claim left by a dead worker is taken again after its lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from energy_core import topics
from energy_core.domain import Prm
from energy_core.testing import InMemoryPublisher
from energy_core.wire import CONSENT_REVOKED
from energy_store import sge_sites
from ingest_sge.bootstrap import bootstrap
from ingest_sge.settings import Settings
from sen1_stack.broker import free_port
from sge_emulator import Emulator
from sge_emulator.testing import running

from .emulated import soap_kit

pytestmark = pytest.mark.integration

C5 = "24377424002398"  # a homologation C5 point of the access-services model


@pytest_asyncio.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    """Today's emulator (not the package's fixed day): the registration's
    authorisation and the worker run on the real clock."""
    async with running(tmp_path / "sge", free_port) as emulator:
        yield emulator


async def _register(pool: Any, prm: str) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        person = await conn.fetchval(
            "INSERT INTO people (display_name) VALUES ('Bailleur') RETURNING person_id"
        )
        await sge_sites.register(
            conn,
            person_id=person,
            sites=[("Bureaux", [Prm(prm)])],
            declaration=sge_sites.Declaration(
                authorised_by="SCI Les Bureaux",
                authoriser_kind="legal",
                scope="consumption",
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=365),
                proof_reference="mandat 42",
            ),
            now=now,
        )


async def test_sge_refusal_revokes_the_authorisation_and_refuses_the_site(
    emulator: Emulator, tmp_path: Path, postgres_settings: Any, pg_pool: Any
) -> None:
    await _register(pg_pool, C5)
    settings = Settings(
        postgres=postgres_settings,
        spool_dir=tmp_path / "spool",
        # not the account's login: the emulator answers SGT4G2 ("le demandeur
        # n'est pas éligible"), SGE's refusal for want of a valid authorisation
        **soap_kit(emulator, login="intruder@sen1.invalid"),
    )
    publisher = InMemoryPublisher()
    async with bootstrap(
        settings, stop=asyncio.Event(), publisher=publisher, pool=pg_pool
    ) as runtime:
        assert runtime.enrolment is not None
        assert await runtime.enrolment.run_once() == {"refused": 1}
    site = await pg_pool.fetchrow(
        """SELECT s.state, s.reason, c.verification, c.revoked_at, s.person_id
           FROM sge_sites s JOIN consents c USING (consent_id)"""
    )
    assert (site["state"], site["reason"]) == ("refused", "SGT4G2")
    assert site["verification"] == "verified"  # it was, until SGE refused
    assert site["revoked_at"] is not None  # the refusal is in the registry
    open_occupancies = await pg_pool.fetchval(
        """SELECT count(*) FROM occupancies WHERE person_id = $1
           AND (ends_at IS NULL OR ends_at > now())""",
        site["person_id"],
    )
    assert open_occupancies == 0  # nothing of the point stays readable
    events = [
        r["event"]
        for r in await pg_pool.fetch(
            "SELECT event FROM consent_audit ORDER BY audit_id"
        )
    ]
    assert events == ["recorded", "verified", "revoked"]
    assert not emulator.state.active(C5)  # nothing subscribed
    ((key, event),) = publisher.sent[topics.CONSENT_EVENTS]  # told to the platform
    assert (key, event.change, event.reason) == (
        C5,
        CONSENT_REVOKED,
        "SGE refused: SGT4G2",
    )


async def test_a_dead_workers_claim_is_taken_again_after_its_lease(
    pg_pool: Any,
) -> None:
    await _register(pg_pool, C5)
    now = datetime.now(UTC)
    lease = timedelta(minutes=15)
    async with pg_pool.acquire() as conn:
        (first,) = await sge_sites.claim(conn, now=now, limit=5, lease=lease)
        # a second worker at the same time: nothing for it
        assert await sge_sites.claim(conn, now=now, limit=5, lease=lease) == []
        later = now + lease + timedelta(seconds=1)
        (again,) = await sge_sites.claim(conn, now=later, limit=5, lease=lease)
    assert again.site_id == first.site_id
    assert again.attempts == 2


async def test_an_authorisation_ended_elsewhere_is_a_withdrawal(pg_pool: Any) -> None:
    """The registrant withdraws the consent through the generic consents route
    (or it expires): the worker is handed the site to stop its subscription."""
    await _register(pg_pool, C5)
    now = datetime.now(UTC)
    lease = timedelta(minutes=15)
    async with pg_pool.acquire() as conn:
        (site,) = await sge_sites.claim(conn, now=now, limit=5, lease=lease)
        assert await sge_sites.verify(conn, site, now=now) is None
        await sge_sites.finish(conn, site, state="active", now=now, service_id="77")
        await conn.execute(  # what POST /v1/me/consents/{id}/withdraw does
            "UPDATE consents SET revoked_at = $2 WHERE consent_id = $1",
            site.consent_id,
            now,
        )
        later = now + timedelta(seconds=1)
        (stop,) = await sge_sites.claim(conn, now=later, limit=5, lease=lease)
        occupied = await conn.fetchval(
            """SELECT count(*) FROM occupancies WHERE delivery_point_id = $1
               AND (ends_at IS NULL OR ends_at > $2)""",
            C5,
            later,
        )
        reason = await conn.fetchval("SELECT reason FROM sge_sites")
    assert (stop.site_id, stop.state, stop.service_id) == (
        site.site_id,
        "withdrawing",
        "77",
    )
    assert reason == "authorisation withdrawn"
    assert occupied == 0  # the point is free for its next holder
