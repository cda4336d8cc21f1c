"""Bulk-order results (R63, R64, C68; JSON and CSV) written by the generator -> batches."""

from __future__ import annotations

import io
import itertools
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.domain import Direction, Kind, Quality, RowsBatch, Stamp
from energy_core.domain.time import PARIS
from energy_core.domain.units import Unit
from energy_core.errors import PayloadInvalidError
from ingest_sge.mapping import (
    C68Record,
    FluxStats,
    Rejected,
    flux_code,
    parse_bulk,
    parse_member,
)
from ingest_sge.mapping.bulk import JsonItems
from sge_emulator.fluxgen import (
    CurveR63,
    IndexR64,
    Technical,
    c68_csv,
    c68_json,
    r63_csv,
    r63_json,
    r64_csv,
    r64_json,
)

PRM = "25150217034354"
C4 = "98800004935121"
DAY = date(2026, 3, 2)


def _parse(pieces: Iterator[bytes], code: str, **kw) -> tuple[list, FluxStats]:
    stats = FluxStats()
    items = list(parse_bulk(io.BytesIO(b"".join(pieces)), code=code, stats=stats, **kw))
    return items, stats


def test_flux_codes_come_from_the_documented_names() -> None:
    assert flux_code("ENEDIS_R63_P_CdC_M053Q0D3_00001_20230918161101.zip") == "R63"
    assert flux_code("ENEDIS_R64_P_INDEX_M06IFF1Z_00001_20240627165441.zip") == "R64"
    assert (
        flux_code("x.JSON", "ENEDIS_C68_P_ITC_M05J6FUB_00001_20231219094139.zip")
        == "C68"
    )
    assert flux_code("ENEDIS_R63A_H_CdC_A1_00001_20240101000000.zip") == "R63"
    assert flux_code("ERDF_R50_23X--130624--EE1_GRD-F121.zip") == ""
    assert flux_code("ENEDIS_23X--130624--EE1_R4Q_CDC_20230519.zip") == ""


@pytest.mark.parametrize("writer", [r63_json, r63_csv], ids=["json", "csv"])
def test_r63_c5_curve_is_end_stamped_and_c4_start_stamped(writer) -> None:
    curves = [
        CurveR63(PRM, DAY, tuple([1000] * 48)),
        CurveR63(C4, DAY, tuple([6000] * 144), minutes=10),
    ]
    (c5, c4), stats = _parse(writer(curves), "R63")
    assert stats.records == 2
    assert isinstance(c5, RowsBatch)
    assert c5.stamped is Stamp.END
    readings = c5.to_batch().readings
    assert len(readings) == 48
    # d = 00:30 local (no offset) ENDS [00:00, 00:30); 1000 W -> 500 Wh
    assert readings[0].start == datetime(2026, 3, 2, 0, 0, tzinfo=PARIS)
    assert readings[0].end == datetime(2026, 3, 2, 0, 30, tzinfo=PARIS)
    assert (readings[0].kind, readings[0].unit, readings[0].value) == (
        Kind.INTERVAL,
        Unit.WH,
        500.0,
    )
    assert c4.stamped is Stamp.START
    c4_readings = c4.to_batch().readings
    assert c4_readings[0].start == datetime(2026, 3, 2, 0, 0, tzinfo=PARIS)
    assert c4_readings[0].value == 1000.0  # 6 kW over 10 min
    assert c4_readings[-1].end == datetime(2026, 3, 3, tzinfo=PARIS)


@pytest.mark.parametrize("writer", [r63_json, r63_csv], ids=["json", "csv"])
@pytest.mark.parametrize(
    ("day", "points"), [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50)]
)
def test_r63_dst_days_without_offsets(writer, day: date, points: int) -> None:
    (batch,), _ = _parse(writer([CurveR63(PRM, day, tuple([200] * points))]), "R63")
    starts = [r.start.astimezone(UTC) for r in batch.to_batch().readings]
    assert len(set(starts)) == points  # the repeated hour written twice: two passes
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(starts))


def test_r63_bad_value_rejects_that_prm_only_with_its_json() -> None:
    pieces = list(
        r63_json(
            [CurveR63(PRM, DAY, tuple([1] * 48)), CurveR63(C4, DAY, tuple([1] * 48))]
        )
    )
    pieces[1] = pieces[1].replace(b'"v": 1,', b'"v": "x",', 1)
    (bad, good), _ = _parse(iter(pieces), "R63")
    assert isinstance(bad, Rejected)
    assert "points/v" in str(bad.error)
    assert json.loads(bad.payload)["idPrm"] == PRM
    assert isinstance(good, RowsBatch)
    assert good.count == 48


@pytest.mark.parametrize("writer", [r64_json, r64_csv], ids=["json", "csv"])
def test_r64_index_of_day_d_is_at_the_start_of_d_distributor_grid_only(writer) -> None:
    values = (
        (date(2026, 3, 1), (("HPH", 1000), ("HCH", 400))),
        (date(2026, 3, 2), (("HPH", 1700), ("HCH", 900))),
    )
    (batch,), stats = _parse(writer([IndexR64(PRM, values)]), "R64")
    assert isinstance(batch, RowsBatch)
    readings = batch.to_batch().readings
    assert {(r.channel, r.value) for r in readings} == {
        ("HPH", 1000),
        ("HCH", 400),
        ("HPH", 1700),
        ("HCH", 900),
    }
    assert all(r.kind is Kind.INDEX and r.unit is Unit.WH for r in readings)
    assert {r.start for r in readings} == {
        datetime(2026, 3, 1, tzinfo=PARIS),
        datetime(2026, 3, 2, tzinfo=PARIS),
    }
    assert stats.skipped["r64_supplier_grid"] >= 1


@pytest.mark.parametrize("writer", [c68_json, c68_csv], ids=["json", "csv"])
def test_c68_gives_technical_data_per_prm(writer) -> None:
    items = [
        Technical(PRM, subscribed_kva=9),
        Technical(
            C4, segment="C4", tariff="BTSUPCU4", tension="BTSUP", subscribed_kva=36
        ),
    ]
    (first, second), stats = _parse(writer(items), "C68")
    assert stats.records == 2
    assert first == C68Record(
        prm=first.prm,
        segment="C5",
        state="SERVC",
        tariff="BTINFCUST",
        tension="BTINF",
        subscribed_kva=9.0,
    )
    assert str(first.prm) == PRM
    assert (second.segment, second.subscribed_kva) == ("C4", 36.0)


def test_c68_bad_prm_is_rejected_alone() -> None:
    (bad, good), _ = _parse(c68_csv([Technical("12AB"), Technical(PRM)]), "C68")
    assert isinstance(bad, Rejected)
    assert bad.payload.startswith(b"12AB;")
    assert isinstance(good, C68Record)


def test_a_json_document_cut_short_is_an_error_after_the_whole_items() -> None:
    data = b"".join(r63_json([CurveR63(PRM, DAY, tuple([1] * 48))] * 3))
    items = parse_bulk(io.BytesIO(data[: len(data) * 2 // 3]), code="R63")
    with pytest.raises(PayloadInvalidError):
        list(items)


def test_the_header_code_and_the_member_name_choose_the_mapping() -> None:
    data = b"".join(r64_json([IndexR64(PRM, ((DAY, (("BASE", 5),)),))]))
    (batch,) = list(
        parse_member(
            io.BytesIO(data),
            file_name="ENEDIS_R64_P_INDEX_X_00001_1.zip",
            member="R64_X.JSON",
        )
    )
    assert batch.to_batch().readings[0].channel == "BASE"


def test_r67_is_refused_whole_with_its_reason() -> None:
    with pytest.raises(PayloadInvalidError, match="R67 is not mapped"):
        list(
            parse_member(io.BytesIO(b"[]"), file_name="ENEDIS_R67_P_CdC_X_00001_1.zip")
        )


def test_json_items_are_decoded_one_at_a_time() -> None:
    """A document of 3,000 PRMs is never held: memory follows one item."""

    class Pieces(io.RawIOBase):
        def __init__(self, pieces: Iterator[bytes]) -> None:
            self._it, self._buf = pieces, b""

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
            while not self._buf:
                try:
                    self._buf = next(self._it)
                except StopIteration:
                    return 0
            n = min(len(b), len(self._buf))
            b[:n], self._buf = self._buf[:n], self._buf[n:]
            return n

    def curves(n: int) -> Iterator[CurveR63]:
        return (CurveR63(f"{i:014d}", DAY, tuple([i % 3000] * 48)) for i in range(n))

    def peak(n: int) -> int:
        tracemalloc.start()
        count = 0
        for key, _item in JsonItems(Pieces(r63_json(curves(n)))):
            count += key == "mesures"
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == n
        return top

    small, big = peak(100), peak(3000)
    assert big < small * 3  # 30x the items, not 30x the memory


def test_json_items_handle_numbers_cut_by_chunks_and_top_level_arrays() -> None:
    class Trickle:
        def __init__(self, data: bytes) -> None:
            self._data = data

        def read(self, size: int = -1, /) -> bytes:
            out, self._data = self._data[:3], self._data[3:]
            return out

    doc = b'{"header": {"codeFlux": "R63"}, "mesures": [123456, {"a": [1, 2]}], "x": 1.25}'
    assert list(JsonItems(Trickle(doc))) == [
        ("header", {"codeFlux": "R63"}),
        ("mesures", 123456),
        ("mesures", {"a": [1, 2]}),
        ("x", 1.25),
    ]
    assert list(JsonItems(Trickle(b' [ {"idPrm": "1"} , 2 ] '))) == [
        ("", {"idPrm": "1"}),
        ("", 2),
    ]
    with pytest.raises(PayloadInvalidError):
        list(JsonItems(Trickle(b'{"mesures": [1, 2} ')))


def test_production_and_quality_from_r63_nature() -> None:
    doc = {
        "header": {"codeFlux": "R63"},
        "mesures": [
            {
                "idPrm": PRM,
                "grandeur": [
                    {
                        "grandeurMetier": "PROD",
                        "grandeurPhysique": "PA",
                        "unite": "W",
                        "points": [
                            {
                                "d": "2026-03-02 00:30:00",
                                "v": 100,
                                "p": "PT30M",
                                "n": "C",
                            },
                            {
                                "d": "2026-03-02 01:00:00",
                                "v": 100,
                                "p": "PT30M",
                                "n": "E",
                            },
                            {
                                "d": "2026-03-02 01:30:00",
                                "v": None,
                                "p": "PT30M",
                                "n": "B",
                            },
                        ],
                    }
                ],
            }
        ],
    }
    (batch,), stats = _parse(iter([json.dumps(doc).encode()]), "R63")
    readings = batch.to_batch().readings
    assert [r.quality for r in readings] == [Quality.CORRECTED, Quality.ESTIMATED]
    assert {r.direction for r in readings} == {Direction.PRODUCTION}
    assert stats.skipped["r63_no_value"] == 1
