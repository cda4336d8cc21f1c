"""Stuck files are given up after a bounded number of polls, and the new flux
kinds (R4x in the drop's folder, R63/R64/C68 in the bulk-order folder) are picked
up: the collector over a real asyncssh SFTP drop (in-memory publisher/ledger)."""

from __future__ import annotations

import io
import os
import zipfile
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from energy_core import topics
from energy_core.errors import UpstreamUnavailableError
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from ingest_sge.client import FluxKey, LocalFile, RemoteFile, SftpDrop
from ingest_sge.repository.memory import MemoryLedger
from ingest_sge.service import FluxCollector
from sge_emulator.fluxgen import (
    Curve,
    CurveR4x,
    CurveR63,
    IndexR64,
    Technical,
    c68_json,
    flux_file,
    r4x_records,
    r50_records,
    r63_csv,
    r63_json,
    r64_json,
    write_zip,
)

K256 = os.urandom(32)
KEYS = (FluxKey("2026", K256),)
DAY = date(2026, 1, 5)
BULK = "R63_R64_R65_R66_R67_C68"


def _collector(
    drop: Any, tmp_path: Path, ledger: MemoryLedger, publisher: InMemoryPublisher,
    max_attempts: int = 3,
) -> FluxCollector:  # fmt: skip
    spool = tmp_path / "spool"
    return FluxCollector(
        publisher,
        ledger,
        KEYS,
        drop=lambda: SftpDrop(drop.target(), spool),
        spool=spool,
        max_attempts=max_attempts,
    )


def _given_up() -> float:
    return REGISTRY.get_sample_value("ingest_sge_files_given_up_total") or 0.0


def _readings(publisher: InMemoryPublisher) -> list[tuple[str, int]]:
    out = []
    for key, value in publisher.sent[topics.READINGS]:
        out.append((key, len(batch_from_proto(value).readings)))  # type: ignore[arg-type]
    return out


async def test_a_file_cut_short_for_good_is_given_up_after_max_attempts(
    drop: Any, tmp_path: Path
) -> None:
    curves = [Curve("11111111111111", DAY, tuple([400] * 48))]
    path = flux_file(drop.root / "ERDF_R50_stuck.zip", "R50.xml", r50_records(curves), key=K256)  # fmt: skip
    whole = path.read_bytes()
    path.write_bytes(
        whole[: len(whole) // 32 * 16]
    )  # a key opens it, its end is missing
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher, max_attempts=3)
    before = _given_up()

    outcomes = [(await collector.poll_once())[0] for _ in range(3)]

    assert [r.outcome for r in outcomes] == ["incomplete", "incomplete", "dead"]
    assert [r.attempts for r in outcomes] == [1, 2, 3]
    assert "given up" in outcomes[-1].reason
    assert "end is missing" in outcomes[-1].reason
    (letter,) = [v for _, v in publisher.sent[topics.DEAD_LETTERS]]
    assert letter.origin == "sftp:ERDF_R50_stuck.zip"  # type: ignore[union-attr]
    assert letter.error_type == "FluxIncompleteError"  # type: ignore[union-attr]
    assert "given up" in letter.reason  # type: ignore[union-attr]
    assert _given_up() - before == 1
    assert publisher.sent[topics.READINGS] == []
    assert [p.name[13:] for p in (tmp_path / "spool" / "dead").iterdir()] == [
        "ERDF_R50_stuck.zip"
    ]
    # never asked again while it stays the same...
    assert await collector.poll_once() == []
    # ...but a whole version (another size) is another file: handled
    path.write_bytes(whole)
    (result,) = await collector.poll_once()
    assert result.outcome == "done"
    assert _readings(publisher) == [("11111111111111", 48)]


async def test_a_truncated_plain_zip_is_given_up_too(drop: Any, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    write_zip(buffer, "R50.xml", r50_records([Curve("11111111111111", DAY, tuple([1] * 48))]))  # fmt: skip
    (drop.root / "ERDF_R50_cut.zip").write_bytes(buffer.getvalue()[:-30])
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher, max_attempts=2)
    first = (await collector.poll_once())[0]
    second = (await collector.poll_once())[0]
    assert (first.outcome, second.outcome) == ("incomplete", "dead")
    assert "ZIP has no end" in second.reason
    assert ("ERDF_R50_cut.zip", len(buffer.getvalue()) - 30) in ledger.given_up


class _NeverWhole:
    """A drop whose download never matches the listing (a file still changing)."""

    def __init__(self) -> None:
        self.downloads = 0

    async def list(self) -> list[RemoteFile]:
        return [RemoteFile("ERDF_R50_growing.zip", 1000, 0)]

    async def download(self, remote: RemoteFile) -> LocalFile:
        self.downloads += 1
        raise UpstreamUnavailableError(
            "ERDF_R50_growing.zip: 900 bytes received, 1000 announced"
        )


async def test_a_download_that_never_matches_the_listing_is_given_up(
    tmp_path: Path,
) -> None:
    fake = _NeverWhole()

    @asynccontextmanager
    async def opened():  # type: ignore[no-untyped-def]
        yield fake

    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = FluxCollector(
        publisher, ledger, KEYS, drop=opened, spool=tmp_path / "spool", max_attempts=4
    )
    results = [await collector.poll_once() for _ in range(6)]
    assert [r[0].outcome if r else None for r in results] == [
        "incomplete", "incomplete", "incomplete", "dead", None, None,
    ]  # fmt: skip
    assert fake.downloads == 4  # bounded: not asked after it was given up
    (letter,) = [v for _, v in publisher.sent[topics.DEAD_LETTERS]]
    assert letter.payload == b"ERDF_R50_growing.zip size=1000"  # type: ignore[union-attr]
    assert "announced" in letter.reason  # type: ignore[union-attr]


async def test_r4x_and_bulk_order_results_are_picked_up(
    drop: Any, tmp_path: Path
) -> None:
    flux_file(
        drop.root / "ENEDIS_23X--130624--EE1_R4Q_CDC_20260105.zip",
        "R4Q.xml",
        r4x_records([CurveR4x("98800003605600", DAY, tuple([3.0] * 144))]),
        key=K256,
    )
    bulk = drop.root / BULK
    bulk.mkdir()
    flux_file(
        bulk / "ENEDIS_R63_P_CdC_M053Q0D3_00001_20260106030000.zip",
        "R63_M053Q0D3.json",
        r63_json([CurveR63("25150217034354", DAY, tuple([100] * 48))]),
        key=K256,
    )
    flux_file(
        bulk / "ENEDIS_R63_P_CdC_M053Q0D4_00001_20260106030000.zip",
        "R63_M053Q0D4.csv",
        r63_csv([CurveR63("25825036170379", DAY, tuple([100] * 48))]),
        key=None,  # R6X may come as a plain ZIP
    )
    flux_file(
        bulk / "ENEDIS_R64_P_INDEX_M06IFF1Z_00001_20260106030000.zip",
        "R64_M06IFF1Z.JSON",
        r64_json([IndexR64("25999131613803", ((DAY, (("HP", 7), ("HC", 3))),))]),
        key=K256,
    )
    flux_file(  # C68: a primary ZIP holding a secondary ZIP with one JSON
        bulk / "ENEDIS_C68_P_ITC_M05J6FUB_00001_20260106030000.zip",
        "C68_M05J6FUB_00001.json",
        c68_json(
            [Technical("25150217034354"), Technical("98800003605600", segment="C4")]
        ),
        key=K256,
        nested=True,
    )
    (bulk / "ENEDIS_R67_P_CdC_M0000001_00001_20260106030000.zip").write_bytes(b"PK")
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher)

    results = {r.name[:13]: r for r in await collector.poll_once()}

    assert {k: r.outcome for k, r in results.items()} == {
        "ENEDIS_23X--1": "done",
        "ENEDIS_R63_P_": "done",
        "ENEDIS_R64_P_": "done",
        "ENEDIS_C68_P_": "done",
    }  # R67 is not in the patterns: not taken
    assert results["ENEDIS_C68_P_"].technical == 2
    assert {p: (t.segment, t.subscribed_kva) for p, t in ledger.technical.items()} == {
        "25150217034354": ("C5", 36.0),
        "98800003605600": ("C4", 36.0),
    }
    assert sorted(_readings(publisher)) == [
        ("25150217034354", 48),
        ("25825036170379", 48),
        ("25999131613803", 2),
        ("98800003605600", 144),
    ]
    assert await collector.poll_once() == []


@pytest.mark.parametrize("bad", [b"{not json", b'{"mesures": [{"idPrm": "1"'])
async def test_a_bulk_document_that_is_not_json_dead_letters_the_file(
    drop: Any, tmp_path: Path, bad: bytes
) -> None:
    bulk = drop.root / BULK
    bulk.mkdir()
    with (
        (bulk / "ENEDIS_R63_P_CdC_BAD00001_00001_20260106030000.zip").open("wb") as out,
        zipfile.ZipFile(out, "w") as archive,
    ):
        archive.writestr("R63.json", bad)
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    (result,) = await _collector(drop, tmp_path, ledger, publisher).poll_once()
    assert result.outcome == "dead"
    assert "JSON" in result.reason
