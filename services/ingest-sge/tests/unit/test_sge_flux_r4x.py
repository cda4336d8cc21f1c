"""R4x (C1-C4 curves, root ``Courbe``) written by the generator -> batches."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.domain import Direction, Kind, Quality, RowsBatch, Stamp
from energy_core.domain.time import PARIS
from energy_core.domain.units import Unit
from ingest_sge.mapping import Ambiguous, FluxStats, Rejected, parse_flux
from sge_emulator.fluxgen import CurveR4x, r4x_records

PRM = "98800003605600"
OTHER = "98800004935121"


def _parse(curves: list[CurveR4x], **kw) -> tuple[list, FluxStats]:
    stats = FluxStats()
    items = list(
        parse_flux(io.BytesIO(b"".join(r4x_records(curves))), stats=stats, **kw)
    )
    return items, stats


def test_r4x_points_are_start_stamped_kw_to_wh() -> None:
    day = date(2026, 3, 2)
    kw = tuple([6.0] * 144)
    (rows,), stats = _parse([CurveR4x(PRM, day, kw)])
    assert stats.flux == "R4x"
    assert isinstance(rows, RowsBatch)
    assert rows.stamped is Stamp.START
    batch = rows.to_batch()
    assert str(batch.meter) == PRM
    assert len(batch.readings) == 144
    first = batch.readings[0]
    # Horodatage 00:00 local is the START: [00:00, 00:10) Paris, 6 kW -> 1 kWh
    assert first.start == datetime(2026, 3, 2, 0, 0, tzinfo=PARIS)
    assert first.end == datetime(2026, 3, 2, 0, 10, tzinfo=PARIS)
    assert (first.kind, first.unit, first.value) == (Kind.INTERVAL, Unit.WH, 1000.0)
    assert batch.readings[-1].end == datetime(2026, 3, 3, tzinfo=PARIS)
    assert first.quality is Quality.RAW


@pytest.mark.parametrize(
    ("day", "points"), [(date(2026, 3, 29), 138), (date(2026, 10, 25), 150)]
)
def test_r4x_dst_days_have_23_and_25_hours(day: date, points: int) -> None:
    (rows,), _ = _parse([CurveR4x(PRM, day, tuple([0.6] * points))])
    starts = [r.start.astimezone(UTC) for r in rows.to_batch().readings]
    assert len(starts) == points
    assert all(b - a == timedelta(minutes=10) for a, b in itertools.pairwise(starts))
    assert sum(r.value for r in rows.to_batch().readings) == pytest.approx(100 * points)


@pytest.mark.parametrize("ambiguous", list(Ambiguous))
def test_r4x_stamps_without_offset_read_the_repeated_hour_as_two_passes(
    ambiguous: Ambiguous,
) -> None:
    day = date(2026, 10, 25)
    curve = CurveR4x(PRM, day, tuple([1.0] * 150), local_stamps=True)
    (rows,), _ = _parse([curve], ambiguous=ambiguous)
    starts = [r.start.astimezone(UTC) for r in rows.to_batch().readings]
    # 02:00-02:50 local appear twice without offset: first pass, then second
    assert len(set(starts)) == 150
    assert all(b - a == timedelta(minutes=10) for a, b in itertools.pairwise(starts))


def test_r4x_a_local_time_in_the_spring_gap_rejects_the_curve() -> None:
    curve = CurveR4x(PRM, date(2026, 3, 29), tuple([1.0] * 138), local_stamps=True)
    xml = b"".join(r4x_records([curve])).replace(
        b'Horodatage="2026-03-29T01:50:00"', b'Horodatage="2026-03-29T02:10:00"'
    )
    (item,) = list(parse_flux(io.BytesIO(xml)))
    assert isinstance(item, Rejected)
    assert "spring-forward" in str(item.error)


def test_r4x_status_maps_to_quality_and_production_direction() -> None:
    day = date(2026, 1, 5)
    curves = [
        CurveR4x(PRM, day, tuple([1.0] * 144), status="E"),
        CurveR4x(OTHER, day, tuple([1.0] * 144), status="C", business="PROD"),
    ]
    (estimated, corrected), stats = _parse(curves)
    assert stats.records == 2
    assert {r.quality for r in estimated.to_batch().readings} == {Quality.ESTIMATED}
    readings = corrected.to_batch().readings
    assert {r.quality for r in readings} == {Quality.CORRECTED}
    assert {r.direction for r in readings} == {Direction.PRODUCTION}
    assert str(corrected.meter) == OTHER


def test_r4x_reactive_curves_and_missing_values_are_counted_not_guessed() -> None:
    day = date(2026, 1, 5)
    kw: list[float | None] = [2.0] * 144
    kw[3] = None
    curves = [
        CurveR4x(PRM, day, tuple(kw)),
        CurveR4x(PRM, day, tuple([1.0] * 144), physical="ERI", unit="kVAr"),
    ]
    (active, reactive), stats = _parse(curves)
    assert active.count == 143
    assert reactive.count == 0
    assert stats.skipped == {"r4x_no_value": 1, "r4x_eri": 1}


def test_r4x_bad_status_rejects_that_curve_only() -> None:
    day = date(2026, 1, 5)
    curves = [
        CurveR4x(PRM, day, tuple([1.0] * 144), status="Z"),
        CurveR4x(OTHER, day, tuple([1.0] * 144)),
    ]
    (bad, good), _ = _parse(curves)
    assert isinstance(bad, Rejected)
    assert "Statut_Point" in str(bad.error)
    assert b"Donnees_Courbe" in bad.payload
    assert isinstance(good, RowsBatch)
    assert good.count == 144
