"""The enrolment worker with fakes of its ports: registered sites become active,
refused (held by another, SGE's refusal, unknown point) or failed (retried);
withdrawals stop the subscription when the client can."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from energy_core import topics
from energy_core.errors import UpstreamUnavailableError
from energy_core.loops import Backoff
from energy_core.testing import InMemoryPublisher
from energy_core.wire import CONSENT_REVOKED
from ingest_sge.client.faults import error_for
from ingest_sge.enrolment import NO_STOP_SERVICE, EnrolmentWorker, SubscriptionStopper
from ingest_sge.portfolio import Portfolio
from ingest_sge.reader import MeasuresReader
from ingest_sge.repository.authorisations import Authorisation, MemoryAuthorisations
from ingest_sge.repository.enrolments import MemoryEnrolments

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
SCHOOL, GYM, HELD, REFUSED, UNKNOWN, BUSY, LAPSED, LATE = (
    f"2500000000000{i}" for i in range(1, 9)
)


class FakeSge:
    """SGE as the worker's collaborators call it, with scripted refusals."""

    def __init__(self) -> None:
        self.subscribed: list[str] = []
        self.stopped: list[tuple[str, str]] = []
        self.busy = True

    async def subscribe(self, prm: str, **kw: Any) -> str | None:
        if prm == REFUSED:
            raise error_for("SGT4K2", "Le client doit avoir donné son accord.")
        if prm == UNKNOWN:
            raise error_for("SGT401", "Le point n'existe pas.")
        if prm == BUSY and self.busy:
            raise error_for("SGT4B8", "Demandes en cours.")
        self.subscribed.append(prm)
        return f"svc-{prm[-1]}"

    async def detailed_measures(self, prm: str, **kw: Any) -> dict[str, Any]:
        if prm == LATE:  # subscribed, then its measures refused
            raise error_for("SGT4G2", "Le demandeur n'est pas éligible.")
        points = [{"v": "100", "d": f"{kw['start']} 00:30:00", "p": "PT30M"}]
        return {"grandeur": [{"unite": "W", "points": points}]}

    async def stop_service(self, prm: str, service_id: str) -> None:
        if prm == BUSY:
            raise UpstreamUnavailableError("SGE busy")
        self.stopped.append((prm, service_id))


def _world(
    *, stop: bool = True
) -> tuple[MemoryEnrolments, MemoryAuthorisations, FakeSge, InMemoryPublisher, Any]:
    registry = MemoryAuthorisations()
    for i, prm in enumerate((SCHOOL, GYM, HELD, REFUSED, UNKNOWN, BUSY, LATE)):
        registry.grant(
            Authorisation(
                f"c{i}", prm, "consumption", NOW - timedelta(days=1), NOW + timedelta(days=300)
            )
        )  # fmt: skip
    sge, publisher = FakeSge(), InMemoryPublisher()
    portfolio = Portfolio(
        MeasuresReader(sge, registry, clock=NOW.timestamp), sge, publisher, history_days=3
    )  # fmt: skip
    queue = MemoryEnrolments()
    worker = EnrolmentWorker(
        queue,
        portfolio,
        stopper=sge if stop else None,
        publisher=publisher,
        clock=NOW.timestamp,
        retry=Backoff(60.0, 3600.0),
    )
    return queue, registry, sge, publisher, worker


async def test_registered_sites_are_enrolled_or_refused_with_a_reason() -> None:
    queue, registry, sge, publisher, worker = _world()
    ids = {
        prm: queue.add(prm, name=f"site {prm[-1]}", held_by_another=prm == HELD)
        for prm in (SCHOOL, GYM, HELD, REFUSED, UNKNOWN, BUSY, LAPSED, LATE)
    }

    done = await worker.run_once()

    sites = {prm: queue.sites[i] for prm, i in ids.items()}
    assert {p: s.state for p, s in sites.items()} == {
        SCHOOL: "active",
        GYM: "active",
        HELD: "refused",
        REFUSED: "refused",
        UNKNOWN: "refused",
        BUSY: "failed",
        LAPSED: "refused",
        LATE: "refused",
    }
    assert done == {"active": 2, "refused": 5, "failed": 1}
    # subscribed before SGE refused its measures: the subscription is stopped
    assert sge.stopped == [(LATE, "svc-8")]
    assert sites[LATE].reason == "SGT4G2; subscription stopped"
    assert sites[HELD].reason == "held_by_another"
    assert sites[REFUSED].reason == "SGT4K2"
    assert sites[UNKNOWN].reason == "SGT401"
    assert sites[LAPSED].reason == "no_live_authorisation"  # nothing in the registry
    assert sites[BUSY].reason == "SGT4B8"
    assert sites[SCHOOL].service_id == "svc-1"
    assert sites[SCHOOL].readings == 1  # the fake answers one reading per window
    assert HELD not in sge.subscribed  # refused before any SGE call
    assert not sites[HELD].verified
    # SGE's refusal is recorded in the registry: the point is not asked again
    assert await registry.authorisation(REFUSED, NOW) is None
    published = {k for k, _ in publisher.sent[topics.READINGS]}
    assert published == {SCHOOL, GYM}
    # SGE's refusal is told on the consent topic (not the platform's own refusals)
    events = [(k, v) for k, v in publisher.sent[topics.CONSENT_EVENTS]]
    assert [(k, e.change, e.reason) for k, e in events] == [
        (REFUSED, CONSENT_REVOKED, "SGE refused: SGT4K2"),
        (LATE, CONSENT_REVOKED, "SGE refused: SGT4G2; subscription stopped"),
    ]
    assert events[0][1].consent_id == str(sites[REFUSED].claim.consent_id)
    # the transient failure is retried later, with backoff, then succeeds
    assert sites[BUSY].next_attempt_at is not None
    assert sites[BUSY].next_attempt_at > NOW
    assert await worker.run_once() == {}  # not due yet
    sge.busy = False
    later = EnrolmentWorker(
        queue, worker._portfolio, clock=(NOW + timedelta(hours=2)).timestamp
    )
    assert await later.run_once() == {"active": 1}
    assert sites[BUSY].state == "active"
    assert await queue.pending() == 0


async def test_a_withdrawal_stops_the_subscription() -> None:
    queue, _, sge, publisher, worker = _world()
    site = queue.add(SCHOOL, state="withdrawing", service_id="svc-1")
    busy = queue.add(BUSY, state="withdrawing", service_id="svc-7")

    assert await worker.run_once() == {"withdrawn": 1, "withdrawing": 1}

    assert sge.stopped == [(SCHOOL, "svc-1")]
    assert queue.sites[site].state == "withdrawn"
    assert queue.sites[site].reason == "subscription stopped"
    assert queue.sites[busy].state == "withdrawing"  # retried, never dropped
    assert queue.sites[busy].next_attempt_at is not None
    events = [v for _, v in publisher.sent[topics.CONSENT_EVENTS]]
    assert [(e.meter_id, e.reason) for e in events] == [
        (SCHOOL, "site withdrawn or its authorisation ended")
    ]


async def test_without_a_stop_service_the_withdrawal_says_so() -> None:
    queue, _, _, _, worker = _world(stop=False)
    site = queue.add(GYM, state="withdrawing", service_id="svc-2")

    assert await worker.run_once() == {"withdrawn": 1}

    assert queue.sites[site].reason == NO_STOP_SERVICE
    assert isinstance(FakeSge(), SubscriptionStopper)  # the port the client fills


async def test_a_site_withdrawn_while_enrolling_keeps_its_withdrawal() -> None:
    queue, _, _, _, worker = _world()
    site = queue.add(SCHOOL)
    claims = await queue.claim(NOW, 10)
    queue.sites[site].state = "withdrawing"  # the api, while SGE answered
    await queue.finish(claims[0], state="active", now=NOW, service_id="svc-1")
    assert queue.sites[site].state == "withdrawing"
    assert queue.sites[site].service_id == "svc-1"  # kept for the stop
    assert await worker.run_once() == {"withdrawn": 1}
