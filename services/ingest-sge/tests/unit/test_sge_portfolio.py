"""Enrolling a portfolio: each PRM subscribed then backfilled, authorisation
first; one PRM without authorisation or refused does not stop the others."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from energy_core import topics
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from ingest_sge.client.faults import error_for
from ingest_sge.portfolio import Portfolio, Site
from ingest_sge.reader import MeasuresReader
from ingest_sge.repository.authorisations import Authorisation, MemoryAuthorisations

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
SCHOOL, GYM, HALL, REFUSED = (
    "25000000000001",
    "25000000000002",
    "25000000000003",
    "25000000000004",
)


class FakeSge:
    def __init__(self) -> None:
        self.subscribed: list[str] = []
        self.curves: list[tuple[str, date, date]] = []

    async def subscribe(self, prm: str, **kw: Any) -> str | None:
        if prm == REFUSED:
            raise error_for("SGT566", "Ce service nécessite l'accord du client.")
        self.subscribed.append(prm)
        return "1"

    async def detailed_measures(self, prm: str, **kw: Any) -> dict[str, Any]:
        self.curves.append((prm, kw["start"], kw["end"]))
        points = [{"v": "100", "d": f"{kw['start']} 00:30:00", "p": "PT30M"}]
        return {"grandeur": [{"unite": "W", "points": points}]}


async def test_enrol_subscribes_and_backfills_authorised_points_only() -> None:
    registry = MemoryAuthorisations()
    for i, prm in enumerate((SCHOOL, GYM, REFUSED)):
        registry.grant(
            Authorisation(
                f"c{i}",
                prm,
                "consumption",
                NOW - timedelta(days=1),
                NOW + timedelta(days=365),
            )
        )
    sge, publisher = FakeSge(), InMemoryPublisher()
    portfolio = Portfolio(
        MeasuresReader(sge, registry, clock=NOW.timestamp),
        sge,
        publisher,
        history_days=10,
    )
    sites = [Site("école", (SCHOOL, GYM)), Site("gymnase", (GYM, HALL, REFUSED))]

    result = await portfolio.enrol(sites, date(2026, 11, 23))

    assert result.outcomes == {
        SCHOOL: "subscribed",
        GYM: "subscribed",
        HALL: "not_authorised",
        REFUSED: "refused",
    }
    assert sge.subscribed == [SCHOOL, GYM]
    assert [(p, a.isoformat(), b.isoformat()) for p, a, b in sge.curves] == [
        (SCHOOL, "2026-11-13", "2026-11-20"),
        (SCHOOL, "2026-11-20", "2026-11-23"),
        (GYM, "2026-11-13", "2026-11-20"),
        (GYM, "2026-11-20", "2026-11-23"),
    ]
    published = [batch_from_proto(v) for _, v in publisher.sent[topics.READINGS]]  # type: ignore[arg-type]
    assert [str(b.meter) for b in published] == [SCHOOL, SCHOOL, GYM, GYM]
    assert result.readings == 4
    assert await registry.authorisation(REFUSED, NOW) is None  # SGE's refusal recorded
