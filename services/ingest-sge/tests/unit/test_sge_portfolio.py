"""Enrolling a portfolio: each PRM subscribed then backfilled, authorisation
first; one PRM without authorisation or refused does not stop the others."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from energy_core import topics
from energy_core.domain.time import PARIS
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from ingest_sge.client.answers import FoundPoint, SearchCriteria, TechnicalData
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


class FakeDirectory(FakeSge):
    """SGE with its point directory: technical data and search."""

    def __init__(self, segments: dict[str, str]) -> None:
        super().__init__()
        self.segments = segments
        self.asked: list[tuple[str, bool]] = []

    async def technical_data(self, prm: str, *, authorised: bool = True) -> Any:
        self.asked.append((prm, authorised))
        if prm not in self.segments:
            raise error_for("SGT401", "Demande non recevable : point inexistant")
        return TechnicalData(
            prm, "SERVC", self.segments[prm], "2", None, None, None, None, None,
            None, None, (), (), True, "BTINFCU4", None, 36.0, "kVA",
        )  # fmt: skip

    async def measures_history(self, prm: str, *, authorised: bool = True) -> Any:
        return []

    async def search_points(self, criteria: SearchCriteria) -> list[FoundPoint]:
        return [
            FoundPoint(SCHOOL, ("38130 ECHIROLLES",), (), None, None, criteria.name)
        ]


async def test_enrol_reads_each_points_facts_and_stamps_its_curve_by_segment() -> None:
    registry = MemoryAuthorisations()
    c4, unknown = "98800000000001", "99999999999999"
    for i, prm in enumerate((SCHOOL, c4, unknown)):
        registry.grant(
            Authorisation(
                f"c{i}",
                prm,
                "consumption",
                NOW - timedelta(days=1),
                NOW + timedelta(days=9),
            )
        )
    sge, publisher = FakeDirectory({SCHOOL: "C5", c4: "C4"}), InMemoryPublisher()
    portfolio = Portfolio(
        MeasuresReader(sge, registry, clock=NOW.timestamp),
        sge,
        publisher,
        directory=sge,
        history_days=1,
    )
    result = await portfolio.enrol(
        [Site("groupe", (SCHOOL, c4, unknown, HALL))], date(2026, 11, 23)
    )
    assert result.outcomes == {
        SCHOOL: "subscribed",
        c4: "subscribed",
        unknown: "unknown",
        HALL: "not_authorised",
    }
    # asked only with a live authorisation, and always claiming it
    assert sge.asked == [(SCHOOL, True), (c4, True), (unknown, True)]
    assert {p: f.subscribed_power for p, f in result.points.items()} == {
        SCHOOL: 36.0,
        c4: 36.0,
    }
    assert sge.subscribed == [SCHOOL, c4]  # the unknown point is not subscribed
    published = {
        str(b.meter): b
        for b in (batch_from_proto(v) for _, v in publisher.sent[topics.READINGS])  # type: ignore[arg-type]
    }
    # the same "00:30" stamp: the end of the C5 interval, the start of the C4 one
    c5_reading, c4_reading = published[SCHOOL].readings[0], published[c4].readings[0]
    assert c5_reading.end.astimezone(PARIS).strftime("%H:%M") == "00:30"
    assert c4_reading.start.astimezone(PARIS).strftime("%H:%M") == "00:30"
    found = await portfolio.search(SearchCriteria(siret="21380151000017", name="ECOLE"))
    assert [(p.prm, p.holder) for p in found] == [(SCHOOL, "ECOLE")]


async def test_search_without_a_directory_is_a_clear_error() -> None:
    sge = FakeSge()
    portfolio = Portfolio(
        MeasuresReader(sge, MemoryAuthorisations()), sge, InMemoryPublisher()
    )
    with pytest.raises(LookupError, match="directory"):
        await portfolio.search(SearchCriteria(siret="1"))
