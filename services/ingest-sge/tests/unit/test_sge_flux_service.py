"""The collector over a real asyncssh SFTP drop started by the test (in-memory
publisher and ledger): each file once, replays and cut files change nothing, a
wrong key dead-letters the file with its reason, a bad record goes alone."""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from energy_core import topics
from energy_core.loops import Backoff
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from ingest_sge.client import FluxKey, SftpDrop
from ingest_sge.repository import Outcome
from ingest_sge.repository.memory import MemoryLedger
from ingest_sge.service import FluxCollector, run_forever
from sge_emulator.fluxgen import (
    Curve,
    DailyIndex,
    Series,
    flux_file,
    r50_records,
    r151_records,
    r171_records,
)

K128, IV, K256 = os.urandom(16), os.urandom(16), os.urandom(32)
KEYS = (FluxKey("legacy", K128, IV), FluxKey("2026", K256))
DAY = date(2026, 1, 5)


def _collector(
    drop: Any, tmp_path: Path, ledger: MemoryLedger, publisher: InMemoryPublisher,
    keys: tuple[FluxKey, ...] = KEYS, every: int = 2,
) -> FluxCollector:  # fmt: skip
    spool = tmp_path / "spool"
    return FluxCollector(
        publisher,
        ledger,
        keys,
        drop=lambda: SftpDrop(drop.target(), spool),
        spool=spool,
        publish_every_records=every,
    )


def _r50(root: Path, name: str, prms: list[str], key: bytes = K256) -> Path:
    curves = [Curve(p, DAY, tuple([400] * 48)) for p in prms]
    return flux_file(root / name, "R50.xml", r50_records(curves), key=key)


def _readings(publisher: InMemoryPublisher) -> list[tuple[str, int]]:
    out = []
    for key, value in publisher.sent[topics.READINGS]:
        batch = batch_from_proto(value)  # type: ignore[arg-type]
        out.append((key, len(batch.readings)))
    return out


async def test_files_of_every_kind_are_published_once(
    drop: Any, tmp_path: Path
) -> None:
    _r50(drop.root, "ERDF_R50_23X--130624--EE1_GRD-F121.zip", ["11111111111111", "22222222222222", "33333333333333"])  # fmt: skip
    flux_file(
        drop.root / "ERDF_R151_23X--130624--EE1_GRD-F121.zip",
        "R151.xml",
        r151_records(
            [DailyIndex("11111111111111", DAY, (("HC", 10), ("HP", 20)), 6000)]
        ),
        key=K128,
        iv=IV,
    )
    flux_file(
        drop.root / "ENEDIS_R171_C_00000099895595_GRDF_23X--130624--EE1_20260301.zip",
        "R171.xml",
        r171_records(
            [Series("44444444444444", "EA", "Wh", "HPH", (("2026-01-05T23:00:00", 5),))]
        ),
        key=K256,
        nested=True,
    )
    (drop.root / "notes.txt").write_text("not a flux")
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher)

    results = await collector.poll_once()

    assert sorted((r.name[:11], r.outcome, r.key_id) for r in results) == [
        ("ENEDIS_R171", "done", "2026"),
        ("ERDF_R151_2", "done", "legacy"),
        ("ERDF_R50_23", "done", "2026"),
    ]
    assert sorted(_readings(publisher)) == [
        ("11111111111111", 3),
        ("11111111111111", 48),
        ("22222222222222", 48),
        ("33333333333333", 48),
        ("44444444444444", 1),
    ]
    assert {r.outcome for r in ledger.files.values()} == {Outcome.DONE}
    assert not list((tmp_path / "spool").glob("*.zip"))  # nothing left behind

    # the next poll: the drop still offers the same files, nothing happens
    assert await collector.poll_once() == []
    assert len(publisher.sent[topics.READINGS]) == 5


async def test_a_replayed_file_changes_nothing(drop: Any, tmp_path: Path) -> None:
    path = _r50(drop.root, "ERDF_R50_a.zip", ["11111111111111"])
    data = path.read_bytes()
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher)
    await collector.poll_once()
    # the same bytes downloaded again (a drop re-offering it): recognised by its
    # checksum, not published twice, not recorded twice
    spool = tmp_path / "spool"
    async with SftpDrop(drop.target(), spool) as sftp:
        (remote,) = await sftp.list()
        local = await sftp.download(remote)
    assert local.path.read_bytes() == data
    result = await collector.handle(local)
    assert result.outcome == "replayed"
    assert len(publisher.sent[topics.READINGS]) == 1
    assert len(ledger.files) == 1


async def test_a_half_downloaded_file_changes_nothing_until_whole(
    drop: Any, tmp_path: Path
) -> None:
    path = _r50(drop.root, "ERDF_R50_b.zip", ["11111111111111"])
    whole = path.read_bytes()
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher)
    # 1. the drop is still writing it (cut on a block boundary: a key opens it)
    path.write_bytes(whole[: len(whole) // 32 * 16])
    (result,) = await collector.poll_once()
    assert result.outcome == "incomplete"
    # 2. it grows between listing and download: the size check refuses it
    path.write_bytes(whole[:-16])
    async with SftpDrop(drop.target(), tmp_path / "spool") as sftp:
        (remote,) = await sftp.list()
        path.write_bytes(whole)
        with pytest.raises(Exception, match="announced"):
            await sftp.download(remote)
    assert publisher.sent[topics.READINGS] == []
    assert ledger.files == {}
    assert not list((tmp_path / "spool").glob("*.part"))
    # 3. whole at last: handled once
    (result,) = await collector.poll_once()
    assert result.outcome == "done"
    assert _readings(publisher) == [("11111111111111", 48)]


async def test_a_wrong_key_is_a_clear_error_and_the_file_is_dead_lettered(
    drop: Any, tmp_path: Path
) -> None:
    _r50(drop.root, "ERDF_R50_1_unknown_key.zip", ["11111111111111"], key=os.urandom(32))  # fmt: skip
    _r50(drop.root, "ERDF_R50_2_good.zip", ["22222222222222"])
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher)

    bad, good = await collector.poll_once()

    assert (bad.outcome, good.outcome) == ("dead", "done")
    assert "keys tried: legacy (aes128), 2026 (aes256)" in bad.reason
    (letter,) = [v for _, v in publisher.sent[topics.DEAD_LETTERS]]
    assert letter.error_type == "FluxKeyError"  # type: ignore[union-attr]
    assert letter.origin == "sftp:ERDF_R50_1_unknown_key.zip"  # type: ignore[union-attr]
    assert "keys tried" in letter.reason  # type: ignore[union-attr]
    (record,) = [r for r in ledger.files.values() if r.outcome is Outcome.DEAD]
    assert record.name == "ERDF_R50_1_unknown_key.zip"
    assert record.reason == bad.reason
    assert [p.name[13:] for p in (tmp_path / "spool" / "dead").iterdir()] == [
        "ERDF_R50_1_unknown_key.zip"
    ]
    assert _readings(publisher) == [("22222222222222", 48)]
    # a dead file is not asked again
    assert await collector.poll_once() == []


async def test_a_bad_record_goes_alone_to_the_dead_letters(
    drop: Any, tmp_path: Path
) -> None:
    _r50(drop.root, "ERDF_R50_c.zip", ["11111111111111", "1234", "33333333333333"])
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    collector = _collector(drop, tmp_path, ledger, publisher)
    (result,) = await collector.poll_once()
    assert (result.outcome, result.records, result.rejected) == ("done", 3, 1)
    assert [k for k, _ in _readings(publisher)] == ["11111111111111", "33333333333333"]
    (letter,) = [v for _, v in publisher.sent[topics.DEAD_LETTERS]]
    assert b"<Id_PRM>1234</Id_PRM>" in letter.payload  # type: ignore[union-attr]
    assert letter.origin == "ERDF_R50_c.zip:R50.xml"  # type: ignore[union-attr]
    assert (
        publisher.flushes >= 2
    )  # flushed while reading (every 2 records), then at the end


async def test_the_loop_survives_an_unreachable_drop_and_stops(
    drop: Any, tmp_path: Path
) -> None:
    ledger, publisher = MemoryLedger(), InMemoryPublisher()
    spool = tmp_path / "spool"
    collector = FluxCollector(
        publisher,
        ledger,
        KEYS,
        drop=lambda: SftpDrop(drop.target(password="wrong"), spool),
        spool=spool,
    )
    unavailable = {"outcome": "unavailable"}
    before = REGISTRY.get_sample_value("ingest_sge_polls_total", unavailable) or 0
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(collector, stop, 0.05, Backoff(0.05, 0.1)))
    await asyncio.sleep(0.5)
    assert not task.done()  # refused logins are retried, never a crash
    after = REGISTRY.get_sample_value("ingest_sge_polls_total", unavailable) or 0
    assert after - before >= 2
    stop.set()
    await asyncio.wait_for(task, 2)
