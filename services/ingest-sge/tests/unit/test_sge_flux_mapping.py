"""R50 / R151 / R171 documents (written from the documented structure) -> batches."""

from __future__ import annotations

import io
import itertools
import resource
import tracemalloc
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.domain import (
    Direction,
    Kind,
    Quality,
    ReadingBatch,
    RowsBatch,
    Source,
    Stamp,
)
from energy_core.domain.time import PARIS
from energy_core.domain.units import Unit
from energy_core.errors import PayloadInvalidError
from ingest_sge.mapping import Ambiguous, FluxStats, Rejected, paris_instant, parse_flux
from sge_emulator.fluxgen import (
    Curve,
    DailyIndex,
    Series,
    half_hour_ends,
    r50_records,
    r151_records,
    r171_records,
)

PRM = "12345678901234"
OTHER = "98765432109876"


class _Pieces(io.RawIOBase):
    """A stream over generated pieces: the parser sees a real file-like reader."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(pieces)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _parse(pieces: Iterable[bytes], **kw) -> tuple[list, FluxStats]:
    """Parsed items; curves (RowsBatch, the bulk form) as their ReadingBatch."""
    stats = FluxStats()
    items = list(parse_flux(_Pieces(pieces), stats=stats, **kw))
    return [i.to_batch() if isinstance(i, RowsBatch) else i for i in items], stats


def test_r50_half_hours_are_end_stamped_mean_watts_to_wh() -> None:
    day = date(2026, 3, 2)
    watts = tuple([1000] * 48)
    pieces = list(r50_records([Curve(PRM, day, watts, frozenset({5}))]))
    (rows,) = list(parse_flux(_Pieces(pieces)))
    assert isinstance(rows, RowsBatch)  # the bulk form, no Reading per value
    assert rows.count == 48
    (batch,), stats = _parse(pieces)
    assert stats.flux == "R50"
    assert stats.records == 1
    assert isinstance(batch, ReadingBatch)
    assert batch.source is Source.ENEDIS_SGE
    assert batch.stamped is Stamp.END
    assert str(batch.meter) == PRM
    assert len(batch.readings) == 48
    first = batch.readings[0]
    # H = 00:30 local is the END: the interval is [00:00, 00:30) Paris
    assert first.start == datetime(2026, 3, 2, 0, 0, tzinfo=PARIS)
    assert first.end == datetime(2026, 3, 2, 0, 30, tzinfo=PARIS)
    assert (first.kind, first.unit, first.value) == (Kind.INTERVAL, Unit.WH, 500.0)
    assert batch.readings[5].quality is Quality.ESTIMATED
    assert batch.readings[4].quality is Quality.RAW
    assert batch.readings[-1].end == datetime(2026, 3, 3, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("day", "points"), [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50)]
)
def test_r50_dst_days_have_23_and_25_hours(day: date, points: int) -> None:
    ends = half_hour_ends(day)
    assert len(ends) == points
    (batch,), _ = _parse(r50_records([Curve(PRM, day, tuple([200] * points))]))
    starts = [r.start.astimezone(UTC) for r in batch.readings]
    assert len(set(starts)) == points  # the repeated October hour is two intervals
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(starts))
    assert sum(r.value for r in batch.readings) == pytest.approx(100 * points)


def test_r50_point_without_value_is_skipped_and_counted() -> None:
    watts: list[int | None] = [300] * 48
    watts[10] = None
    (batch,), stats = _parse(r50_records([Curve(PRM, date(2026, 1, 5), tuple(watts))]))
    assert len(batch.readings) == 47
    assert stats.skipped["r50_no_value"] == 1


def test_a_bad_prm_is_rejected_alone_with_its_xml() -> None:
    curves = [
        Curve(PRM, date(2026, 1, 5), tuple([1] * 48)),
        Curve("12AB", date(2026, 1, 5), tuple([1] * 48)),
        Curve(OTHER, date(2026, 1, 5), tuple([1] * 48)),
    ]
    items, stats = _parse(r50_records(curves))
    assert stats.records == 3
    assert [type(i).__name__ for i in items] == [
        "ReadingBatch",
        "Rejected",
        "ReadingBatch",
    ]
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert b"<Id_PRM>12AB</Id_PRM>" in rejected.payload
    assert "prm" in str(rejected.error)


def test_r151_index_is_end_of_day_and_pmax_covers_the_day() -> None:
    day = date(2026, 3, 28)  # D+1 is the 23-hour day: index at 00:00 of the 29th
    item = DailyIndex(PRM, day, (("HCB", 1000), ("HPB", 2500)), max_va=6120)
    (batch,), stats = _parse(r151_records([item]))
    assert stats.flux == "R151"
    indexes = [r for r in batch.readings if r.kind is Kind.INDEX]
    assert [(r.channel, r.value) for r in indexes] == [("HCB", 1000), ("HPB", 2500)]
    assert all(r.start == datetime(2026, 3, 29, tzinfo=PARIS) for r in indexes)
    (pmax,) = [r for r in batch.readings if r.kind is Kind.MAXIMUM]
    assert (pmax.unit, pmax.value) == (Unit.VA, 6120)
    assert pmax.start == datetime(2026, 3, 28, tzinfo=PARIS)
    assert pmax.end == datetime(2026, 3, 29, tzinfo=PARIS)
    assert stats.skipped["r151_supplier_grid"] == 1


def test_r151_without_max_power() -> None:
    (batch,), _ = _parse(
        r151_records([DailyIndex(PRM, date(2026, 1, 1), (("BASE", 7),))])
    )
    assert [r.kind for r in batch.readings] == [Kind.INDEX]


@pytest.mark.parametrize("qualified", [False, True])
def test_r171_ea_index_local_time_and_direction(qualified: bool) -> None:
    series = [
        Series(PRM, "EA", "Wh", "HPH", (("2026-02-03T02:37:56", 123456),)),
        Series(OTHER, "EA", "Wh", "HCE", (("2026-02-03T00:00:00", 9),), "PROD"),
        Series(PRM, "ERI", "VArh", "HPH", (("2026-02-03T02:37:56", 5),)),
    ]
    items, stats = _parse(r171_records(series, qualified=qualified))
    assert stats.flux == "R171"
    assert stats.records == 3
    first, second, reactive = items
    (r,) = first.readings
    assert (r.kind, r.unit, r.value, r.channel) == (Kind.INDEX, Unit.WH, 123456, "HPH")
    assert r.start == datetime(2026, 2, 3, 1, 37, 56, tzinfo=UTC)  # +01:00 in winter
    assert second.readings[0].direction is Direction.PRODUCTION
    assert reactive.readings == ()
    assert stats.skipped["r171_eri"] == 1


@pytest.mark.parametrize(
    ("ambiguous", "utc_hour"), [(Ambiguous.EARLIER, 0), (Ambiguous.LATER, 1)]
)
def test_the_repeated_october_hour_follows_the_setting(
    ambiguous: Ambiguous, utc_hour: int
) -> None:
    at = paris_instant("2026-10-25T02:30:00", field="d", ambiguous=ambiguous)
    assert at == datetime(2026, 10, 25, utc_hour, 30, tzinfo=UTC)


def test_a_time_in_the_spring_gap_is_refused() -> None:
    with pytest.raises(PayloadInvalidError, match="does not exist"):
        paris_instant("2026-03-29 02:30:00", field="d")


def test_r171_bad_date_rejects_the_series_only() -> None:
    series = [
        Series(PRM, "EA", "Wh", "HPH", (("2026-03-29T02:30:00", 1),)),
        Series(PRM, "EA", "Wh", "HCH", (("2026-03-29T05:00:00", 2),)),
    ]
    items, _ = _parse(r171_records(series))
    assert isinstance(items[0], Rejected)
    assert "spring" in str(items[0].error)
    assert isinstance(items[1], ReadingBatch)


def test_xml_that_is_not_well_formed_is_an_error() -> None:
    pieces = list(r50_records([Curve(PRM, date(2026, 1, 5), tuple([1] * 48))]))
    with pytest.raises(PayloadInvalidError, match="well-formed"):
        _parse([*pieces[:-1], b"</R5"])


def test_an_unknown_document_is_an_error() -> None:
    with pytest.raises(PayloadInvalidError, match="no R50"):
        _parse([b"<Autre><x/></Autre>"])


def _curves(n: int) -> Iterator[Curve]:
    for i in range(n):
        yield Curve(f"{i:014d}", date(2026, 1, 5), tuple([i % 900] * 48))


def _parse_count(n: int) -> int:
    return sum(1 for _ in parse_flux(_Pieces(r50_records(_curves(n)))))


def test_python_memory_does_not_grow_with_the_number_of_prms() -> None:
    """Batches are handed over, not gathered (Python heap, tracemalloc)."""

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            assert _parse_count(n) == n
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(200), peak(2000)
    assert large < small * 1.5, (small, large)


def test_the_xml_tree_is_cleared_as_it_goes() -> None:
    """libxml2's own memory (outside tracemalloc): the process peak does not move
    when 6,000 PRMs are parsed after 500 (a kept tree would add ~100 MB)."""
    _parse_count(500)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _parse_count(6000)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 25_000, grown_kib
