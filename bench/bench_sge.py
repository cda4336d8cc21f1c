"""SGE flux throughput: an encrypted R50 of N PRMs x 1 day through ingest-sge.

Prints the machine, then for each file size the medians of ``--runs`` rounds
(each round runs the three measures one after the other, so that they share the
machine's load of the moment) of:

- **bare**: the same file decrypted (AES-256-CBC, chunked), its ZIP member opened
  and read by ``lxml.etree.iterparse`` (``PDC`` end events, each element cleared):
  the floor any parser of this file pays, in values/s;
- **service**: ``FluxCollector.handle()`` on the same downloaded file: decryption,
  ZIP checks, streaming parse, mapping to validated domain batches (curves as
  ``RowsBatch``: rows checked per series, no ``Reading`` object per value),
  protobuf encoding (``energy_core.wire.rows_to_proto``) and publication through
  ``PublishQueue`` to a publisher that counts and drops (no broker: the broker is
  not what is measured), in readings/s, and its share of the bare rate (target
  >= 70 %);
- **mapped**: decryption, unzip and the service's mapping to validated domain
  batches, with no protobuf and no publication: where the service's time goes;
- **peak RSS** of each (a fresh child process per run, ``ru_maxrss``): bounded and
  independent of the file size when it is about the same for both sizes.

The SHA-256 of the download and the SFTP transfer are not in the timed part.
Usage: ``uv run --frozen python bench/bench_sge.py [--prms 10000,2500] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from google.protobuf.message import Message
from lxml import etree

from energy_core.domain import ReadingBatch, RowsBatch
from energy_core.topics import TopicSpec
from ingest_sge.client import FluxKey, LocalFile, decrypt_file, iter_members, sha256_of
from ingest_sge.mapping import parse_flux
from ingest_sge.repository.memory import MemoryLedger
from ingest_sge.service import FluxCollector
from sge_emulator.fluxgen import Curve, flux_file, r50_records

KEY = bytes(range(32))
DAY = date(2026, 1, 13)
_CHUNK = 1 << 20


def machine() -> str:
    """CPU model, cores and Python of this run."""
    cpu = "cpu"
    with Path("/proc/cpuinfo").open() as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{platform.platform()} / {cpu} / {os.cpu_count()} cores / "
        f"Python {platform.python_version()}"
    )


def make_file(folder: Path, prms: int) -> Path:
    """An AES-256 R50 of ``prms`` PRMs x 48 half-hours, written streaming."""
    curves = (
        Curve(f"{i:014d}", DAY, tuple((i * 7 + h * 13) % 3000 for h in range(48)))
        for i in range(prms)
    )
    return flux_file(
        folder / f"ERDF_R50_bench_{prms}.zip", "R50.xml", r50_records(curves), key=KEY
    )


def bare(path: Path) -> dict[str, Any]:
    """Decrypt + unzip + iterparse, nothing else; values (PDC/V) counted."""
    started = time.perf_counter()
    plain = path.with_suffix(".bare.zip")
    with path.open("rb") as src, plain.open("wb") as out:
        iv = src.read(16)
        decryptor = Cipher(algorithms.AES(KEY), modes.CBC(iv)).decryptor()
        while chunk := src.read(_CHUNK):
            out.write(decryptor.update(chunk))
        out.write(decryptor.finalize())  # padding left in: zipfile tolerates it
    values = 0
    with zipfile.ZipFile(plain) as archive, archive.open("R50.xml") as member:
        for _, element in etree.iterparse(member, events=("end",), tag="PDC"):
            values += element.find("V") is not None
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    seconds = time.perf_counter() - started
    plain.unlink()
    return {"seconds": seconds, "count": values}


def mapped(path: Path) -> dict[str, Any]:
    """Decrypt + unzip + the service's mapping to domain readings, no protobuf."""
    work = Path(tempfile.mkdtemp(prefix="sge-bench-"))
    started = time.perf_counter()
    decrypt_file(path, work / "flux.zip", (FluxKey("bench", KEY),))
    count = 0
    for _, stream in iter_members(work / "flux.zip"):
        for item in parse_flux(stream):
            if isinstance(item, RowsBatch):
                count += item.count
            elif isinstance(item, ReadingBatch):
                count += len(item.readings)
    seconds = time.perf_counter() - started
    shutil.rmtree(work)
    return {"seconds": seconds, "count": count}


class CountingPublisher:
    """A Publisher that counts records and keeps none (no broker in the way)."""

    def __init__(self) -> None:
        self.records = 0

    async def publish(self, spec: TopicSpec, key: str, value: Message | None) -> None:
        self.records += 1

    async def flush(self) -> None:
        return None


def service(path: Path) -> dict[str, Any]:
    """FluxCollector.handle() on a copy of the file (it consumes its input)."""
    work = Path(tempfile.mkdtemp(prefix="sge-bench-"))
    copy = work / path.name
    shutil.copyfile(path, copy)
    local = LocalFile(copy.name, copy, copy.stat().st_size, sha256_of(copy))
    publisher = CountingPublisher()
    collector = FluxCollector(
        publisher, MemoryLedger(), (FluxKey("bench", KEY),), spool=work / "spool"
    )
    started = time.perf_counter()
    result = asyncio.run(collector.handle(local))
    seconds = time.perf_counter() - started
    if result.outcome != "done":
        raise SystemExit(f"service run failed: {result.outcome} {result.reason}")
    return {"seconds": seconds, "count": result.readings}


def child(mode: str, path: Path) -> None:
    """One measured run in this (fresh) process; prints JSON with the peak RSS."""
    out = {"bare": bare, "mapped": mapped, "service": service}[mode](path)
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run(mode: str, path: Path) -> dict[str, Any]:
    """Runs :func:`child` in a new interpreter and reads its JSON line."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Parses the options and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--prms", default="10000,2500", help="PRMs per file, comma-separated"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measure")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    print(f"machine: {machine()}")
    print(f"medians of {args.runs} runs; R50, 1 day x 48 half-hours per PRM, AES-256")
    with tempfile.TemporaryDirectory(prefix="sge-bench-") as folder:
        for prms in (int(p) for p in args.prms.split(",")):
            path = make_file(Path(folder), prms)
            # interleaved (bare, mapped, service per round): the machine's load
            # changes over minutes, and the share must compare like with like
            rows: dict[str, list[dict[str, Any]]] = {
                m: [] for m in ("bare", "mapped", "service")
            }
            for _ in range(args.runs):
                for mode, results in rows.items():
                    results.append(run(mode, path))
            rate = {
                m: statistics.median(r["count"] / r["seconds"] for r in runs)
                for m, runs in rows.items()
            }
            share = statistics.median(
                (s["count"] / s["seconds"]) / (b["count"] / b["seconds"])
                for s, b in zip(rows["service"], rows["bare"], strict=True)
            )
            peak = {
                m: statistics.median(r["peak_mib"] for r in runs)
                for m, runs in rows.items()
            }
            size_mib = path.stat().st_size / 2**20
            print(
                f"{prms:>6} PRMs ({size_mib:.1f} MiB encrypted, "
                f"{rows['service'][0]['count']} readings): "
                f"bare {rate['bare']:,.0f} values/s (peak {peak['bare']:.0f} MiB) | "
                f"mapped to domain {rate['mapped']:,.0f} readings/s | "
                f"service {rate['service']:,.0f} readings/s (peak {peak['service']:.0f} MiB) "
                f"= {100 * share:.0f} % of bare (median of per-round ratios)"
            )


if __name__ == "__main__":
    main()
