"""The reader asks the consent registry before any SGE call, cuts curves into
7-day windows, and records SGE's refusals in the registry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from energy_core.errors import ConsentRevokedError
from ingest_sge.client.answers import Order
from ingest_sge.client.faults import AuthorisationRefusedError, error_for
from ingest_sge.reader import AuthorisationMissingError, MeasuresReader
from ingest_sge.repository.authorisations import Authorisation, MemoryAuthorisations

PRM = "25162373298976"
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


class FakeSge:
    """Answers one constant half-hour per window, or refuses."""

    def __init__(self, refuse: str = "") -> None:
        self.calls: list[tuple[date, date, str]] = []
        self.refuse = refuse

    async def detailed_measures(self, prm: str, **kw: Any) -> dict[str, Any]:
        self.calls.append((kw["start"], kw["end"], kw["access"]))
        if self.refuse:
            raise error_for(self.refuse, "Le client doit avoir donné son accord")
        return {
            "grandeur": [
                {
                    "unite": "W",
                    "points": [
                        {"v": "200", "d": f"{kw['start']} 00:30:00", "p": "PT30M"}
                    ],
                }
            ]
        }


def _registry(**kw: Any) -> MemoryAuthorisations:
    registry = MemoryAuthorisations()
    registry.grant(
        Authorisation(
            "c1",
            kw.get("prm", PRM),
            "consumption",
            kw.get("starts", NOW - timedelta(days=30)),
            kw.get("expires", NOW + timedelta(days=300)),
        )
    )
    return registry


def _reader(sge: FakeSge, registry: MemoryAuthorisations) -> MeasuresReader:
    return MeasuresReader(sge, registry, clock=NOW.timestamp)


async def test_no_authorisation_no_call() -> None:
    sge = FakeSge()
    for registry in (
        MemoryAuthorisations(),
        _registry(prm="99999999999999"),
        _registry(expires=NOW - timedelta(seconds=1)),
        _registry(starts=NOW + timedelta(days=1)),
    ):
        with pytest.raises(AuthorisationMissingError):
            await _reader(sge, registry).curve(
                PRM, date(2026, 11, 1), date(2026, 11, 3)
            )
    assert sge.calls == []


async def test_authorised_curve_in_seven_day_windows() -> None:
    sge = FakeSge()
    batches = await _reader(sge, _registry()).curve(
        PRM, date(2026, 10, 1), date(2026, 10, 20)
    )
    assert [(a.isoformat(), b.isoformat()) for a, b, _ in sge.calls] == [
        ("2026-10-01", "2026-10-08"),
        ("2026-10-08", "2026-10-15"),
        ("2026-10-15", "2026-10-20"),
    ]
    assert {access for *_, access in sge.calls} == {"ACCORD_CLIENT"}
    assert [len(b.readings) for b in batches] == [1, 1, 1]
    assert batches[0].readings[0].value == 100.0


@pytest.mark.parametrize("code", ["SGT4K2", "SGT566", "SGT4G2"])
async def test_a_refusal_revokes_the_authorisation(code: str) -> None:
    sge, registry = FakeSge(refuse=code), _registry()
    with pytest.raises(AuthorisationRefusedError) as refused:
        await _reader(sge, registry).curve(PRM, date(2026, 11, 1), date(2026, 11, 3))
    assert isinstance(refused.value, ConsentRevokedError)
    assert await registry.authorisation(PRM, NOW) is None
    # asked again: refused here, SGE is not called a second time
    with pytest.raises(AuthorisationMissingError):
        await _reader(sge, registry).curve(PRM, date(2026, 11, 1), date(2026, 11, 3))
    assert len(sge.calls) == 1


async def test_other_faults_leave_the_authorisation_alone() -> None:
    sge, registry = FakeSge(refuse="SGT4G3"), _registry()
    with pytest.raises(Exception, match="SGT4G3"):
        await _reader(sge, registry).curve(PRM, date(2026, 11, 1), date(2026, 11, 3))
    assert await registry.authorisation(PRM, NOW) is not None


class FakeSubscriptions:
    def __init__(self, answer: str | None = "47761068", refuse: str = "") -> None:
        self.calls: list[tuple[str, str]] = []
        self.answer, self.refuse = answer, refuse

    async def subscribe(self, prm: str, **kw: Any) -> str | None:
        self.calls.append((prm, kw["data"]))
        if self.refuse:
            raise error_for(self.refuse, "Ce service nécessite l'accord du client.")
        return self.answer


async def test_subscribe_needs_an_authorisation_and_a_refusal_revokes_it() -> None:
    subs = FakeSubscriptions()
    with pytest.raises(AuthorisationMissingError):
        await _reader(FakeSge(), MemoryAuthorisations()).subscribe(subs, PRM)
    assert subs.calls == []
    registry = _registry()
    assert await _reader(FakeSge(), registry).subscribe(subs, PRM, "IDX") == "47761068"
    assert subs.calls == [(PRM, "IDX")]
    refusing = FakeSubscriptions(refuse="SGT566")
    with pytest.raises(AuthorisationRefusedError):
        await _reader(FakeSge(), registry).subscribe(refusing, PRM)
    assert await registry.authorisation(PRM, NOW) is None


class FakeCollect:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.orders: list[tuple[str, str, str]] = []

    async def collect_publish(self, prm: str, **kw: Any) -> Order | None:
        self.orders.append((prm, kw["kind"], kw["holder"]))
        if self.refuse:
            raise error_for("SGT566", "Ce service nécessite l'accord du client.")
        return Order("M02SXITK", "64697749", ())


async def test_older_model_subscription_needs_the_authorisation_first() -> None:
    registry = MemoryAuthorisations()
    reader = MeasuresReader(FakeCollect(), registry, clock=NOW.timestamp)  # type: ignore[arg-type]
    sge = FakeCollect()
    with pytest.raises(AuthorisationMissingError):
        await reader.collect(
            sge, PRM, kind="CDC", start=NOW.date(), end=NOW.date(), holder="VILLE"
        )
    assert sge.orders == []  # SGE not called
    registry.grant(
        Authorisation(
            "c1", PRM, "consumption", NOW - timedelta(days=1), NOW + timedelta(days=9)
        )
    )
    order = await reader.collect(
        sge, PRM, kind="CDC", start=NOW.date(), end=NOW.date(), holder="VILLE"
    )
    assert order is not None
    assert order.service_id == "64697749"
    refusing = FakeCollect(refuse=True)
    with pytest.raises(ConsentRevokedError):
        await reader.collect(
            refusing, PRM, kind="IDX", start=NOW.date(), end=NOW.date(), holder="VILLE"
        )
    assert await registry.authorisation(PRM, NOW) is None  # the refusal is recorded
