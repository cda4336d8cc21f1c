"""bootstrap() against real parts: the embedded broker, the migrated PostgreSQL
(table sge_flux_files of migration 1501) and an SFTP drop served by asyncssh.
Files dropped -> readings on the readings topic -> ledger rows; a restart and a
replay publish nothing new; a wrong key is a dead letter and a ``dead`` row."""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from energy_core import topics
from energy_core.domain import Source
from energy_core.observability import Health
from energy_core.wire import batch_from_proto, decode_batch
from ingest_sge.bootstrap import bootstrap
from ingest_sge.client import SftpDrop
from ingest_sge.settings import Settings
from sen1_stack.topic_reader import drain
from sge_emulator.fluxgen import Curve, DailyIndex, flux_file, r50_records, r151_records

pytestmark = pytest.mark.integration

K256 = os.urandom(32)
DAY = date(2026, 10, 25)  # the 25-hour day: 50 half-hours


def _settings(drop: Any, tmp_path: Path, kafka: Any, postgres: Any) -> Settings:
    return Settings(
        kafka=kafka,
        postgres=postgres,
        sftp_port=drop.port,
        sftp_password="drop-pw",  # type: ignore[arg-type]
        flux_keys=f"k2026:{K256.hex()}",  # type: ignore[arg-type]
        spool_dir=tmp_path / "spool",
        settle_s=0,
    )


async def _consume(kafka: Any, spec: Any) -> list[bytes]:
    return [record.value for record in await drain(kafka, spec)]


async def test_files_to_readings_once_across_restarts(
    drop, tmp_path, kafka_settings, postgres_settings, pg_pool
):
    prms = [f"1000000000000{i}" for i in range(3)]
    flux_file(
        drop.root / "ERDF_R50_23X--130624--EE1_GRD-F121.zip",
        "R50.xml",
        r50_records([Curve(p, DAY, tuple([600] * 50)) for p in prms]),
        key=K256,
    )
    flux_file(
        drop.root / "ERDF_R151_23X--130624--EE1_GRD-F121.zip",
        "R151.xml",
        r151_records([DailyIndex(prms[0], DAY, (("BASE", 123456),), 3000)]),
        key=K256,
    )
    flux_file(
        drop.root / "ERDF_R50_bad_key.zip",
        "R50.xml",
        r50_records([Curve(prms[1], DAY, tuple([1] * 50))]),
        key=os.urandom(32),
    )
    settings = _settings(drop, tmp_path, kafka_settings, postgres_settings)
    stop = asyncio.Event()
    health = Health()
    async with bootstrap(settings, stop=stop, health=health) as runtime:
        ready, checks = await health.readiness()
        assert checks == {"kafka": True, "postgres": True}
        assert ready
        results = await runtime.collector.poll_once()
    assert sorted(r.outcome for r in results) == ["dead", "done", "done"]

    batches = [
        batch_from_proto(decode_batch(v))
        for v in await _consume(kafka_settings, topics.READINGS)
    ]
    assert {b.source for b in batches} == {Source.ENEDIS_SGE}
    assert sorted((str(b.meter), len(b.readings)) for b in batches) == [
        (prms[0], 2),
        (prms[0], 50),
        (prms[1], 50),
        (prms[2], 50),
    ]
    letters = await _consume(kafka_settings, topics.DEAD_LETTERS)
    assert len(letters) == 1
    assert b"keys tried" in letters[0]

    rows = await pg_pool.fetch(
        "SELECT name, outcome, key_id, readings, reason FROM sge_flux_files ORDER BY name"
    )
    assert [(r["name"], r["outcome"], r["key_id"], r["readings"]) for r in rows] == [
        ("ERDF_R151_23X--130624--EE1_GRD-F121.zip", "done", "k2026", 2),
        ("ERDF_R50_23X--130624--EE1_GRD-F121.zip", "done", "k2026", 150),
        ("ERDF_R50_bad_key.zip", "dead", "", 0),
    ]
    assert "no flux key decrypts" in rows[2]["reason"]

    # a restart: same drop, same database; nothing is published again
    async with bootstrap(settings, stop=stop) as runtime:
        assert await runtime.collector.poll_once() == []
        # same name and size: not even downloaded; downloaded anyway, its
        # checksum stops it (a replay changes nothing)
        async with SftpDrop(settings.sftp_target(), settings.spool_dir) as sftp:
            listed = {f.name: f for f in await sftp.list()}
            local = await sftp.download(
                listed["ERDF_R151_23X--130624--EE1_GRD-F121.zip"]
            )
        assert (await runtime.collector.handle(local)).outcome == "replayed"
    assert len(await _consume(kafka_settings, topics.READINGS)) == len(batches)
    assert await pg_pool.fetchval("SELECT count(*) FROM sge_flux_files") == 3


async def test_a_stuck_file_is_given_up_across_restarts(
    drop: Any, tmp_path: Path, kafka_settings: Any, postgres_settings: Any, pg_pool: Any
) -> None:
    """The attempts live in PostgreSQL (migration 1503): a restart does not give a
    stuck file a fresh count, and once given up it is never asked again."""
    curves = [Curve("11111111111111", DAY, tuple([200] * 50))]
    path = flux_file(drop.root / "ERDF_R50_stuck.zip", "R50.xml", r50_records(curves), key=K256)  # fmt: skip
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 32 * 16])  # cut: a key opens it, no end
    settings = _settings(drop, tmp_path, kafka_settings, postgres_settings)
    settings = settings.model_copy(update={"max_attempts": 3})
    outcomes = []
    for _ in range(2):  # two lives of the service
        async with bootstrap(settings, stop=asyncio.Event()) as runtime:
            for _ in range(2):
                outcomes += [r.outcome for r in await runtime.collector.poll_once()]
    assert outcomes == ["incomplete", "incomplete", "dead"]
    row = await pg_pool.fetchrow(
        "SELECT attempts, reason, given_up_at FROM sge_flux_attempts WHERE name = $1",
        "ERDF_R50_stuck.zip",
    )
    assert row["attempts"] == 3
    assert row["given_up_at"] is not None
    assert "given up" in row["reason"]
    letters = await _consume(kafka_settings, topics.DEAD_LETTERS)
    assert len(letters) == 1
    assert await pg_pool.fetchval("SELECT count(*) FROM sge_flux_files") == 0
