"""Enedis backfill: N PRMs x M months of 30-minute load curves, quota-bound.

What runs is the real collector (``ingest_enedis.service.Collector``: shared
limiter, workers, client, mapping, per-PRM cursors in PostgreSQL) against the
emulator in its own process over real HTTP, the emulator enforcing the Enedis
quotas Q3 (5 requests/s) and Q4 (10,000 requests/h). Both are time-scaled by the
same ``--scale``: the emulator's quota windows *and* the collector's limiter
windows are divided by it (1 s -> 1/scale s, 1 h -> 3600/scale s), so one
emulated hour lasts 3600/scale seconds and every figure converts back to real
hours by multiplying by ``scale``. Readings are counted and dropped instead of
published (35 M readings for the full case would not fit the embedded broker's
memory; Kafka throughput is not what limits a quota-bound backfill).

Printed: the machine, a calibration (the collector with quotas off: how many
requests/s this machine can do, to check that the scaled quota stays below it;
otherwise the run measures CPU, not the quota), progress, then per run and as
medians: the requests needed (customers v5 twice per PRM + one per 7-day window +
the token), the quota-bound minimum ``requests / 10,000 per hour`` (the issue's
definition) and the stricter minimum of the sliding windows' best schedule, the
measured time and both ratios (target: measured <= 1.05 x minimum).

    uv run python bench/bench_enedis.py     # 1,000 PRMs once, then 100 PRMs x 3
    uv run python bench/bench_enedis.py --prms 1000 --runs 3 --small-prms 0

The scale is bounded by the CPU, not by the quotas: one Python process needs ~8-10
ms of CPU per 7-day curve window here (Reading construction, protobuf, httpx and
the mapping), so a scale at which the scaled Q4 asks more than the collector can
do measures the CPU. ``--scale auto`` (default) takes the largest whole scale at
which Q4 asks at most ``--headroom`` (60 %) of the calibrated capacity; on this
2-core machine that makes one run of the full case last ~30-60 minutes, hence one
full run by default and the medians and spread from the smaller case.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from enedis_emulator.profiles import synthetic_prm
from energy_core.settings import PostgresSettings
from energy_core.topics import TopicSpec
from energy_store import migrate
from energy_store.db import create_pool
from ingest_enedis import consent_callback
from ingest_enedis.client import DataConnectClient
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.mapping import Stream
from ingest_enedis.repository.postgres import PostgresRepository
from ingest_enedis.service import Collector, months_before
from ingest_enedis.settings import Settings
from sen1_stack.broker import free_port
from sen1_stack.postgres import EmbeddedPostgres

Q3, Q4 = 5, 10_000
NOISE = (
    "the load average is printed per run: other work on the machine makes the "
    "figures noisy"
)


class CountingPublisher:
    """Counts what the collector would publish, keeps nothing (see docstring)."""

    def __init__(self) -> None:
        self.records = 0
        self.readings = 0

    async def publish(self, spec: TopicSpec, key: str, value: object) -> None:
        self.records += 1
        self.readings += len(getattr(value, "readings", ()))

    async def flush(self) -> None:
        return None


@dataclass
class Run:
    elapsed: float
    needed: int
    calls: int
    accepted: int
    throttled: int
    holes: int
    failed: int
    readings: int
    cpu_collector: float
    cpu_emulator: float
    load: float


def machine() -> str:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}, {model}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )


def load_average() -> float:
    return os.getloadavg()[0]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def windows_per_prm(months: int, end: date, days: int = 7) -> int:
    span = (end - months_before(end, months)).days
    return -(-span // days)


def sliding_minimum_s(requests: int) -> float:
    """Best schedule under both sliding windows (real seconds): blocks of 10,000
    requests one hour apart, each sent at 5/s."""
    last = requests - 1
    return 3600.0 * (last // Q4) + (last % Q4) // Q3


def q3_rate(scale: float, margin: float) -> float:
    """Requests/s the collector's per-second window allows at its widest: the
    window scaled, plus the jitter margin (not scaled) and the most it learns."""
    window = 1.0 / scale
    return Q3 / (window + margin + SlidingWindowLimiter.JITTER_CAP * window)


def auto_scale(capacity: float, headroom: float, margin: float) -> float:
    """The largest whole scale at which the scaled Q4 asks at most ``headroom`` of
    the calibrated capacity and stays 20 % under what the per-second window lets
    through (time scaling shrinks the window, not the jitter the margin covers)."""
    scale = 1.0
    while True:
        bigger = scale + 1
        rate = Q4 * bigger / 3600
        if rate > headroom * capacity or 1.2 * rate > q3_rate(bigger, margin):
            return scale
        scale = bigger


def start_emulator(
    port: int, prms: int, scale: float, enforce: bool
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        ENEDIS_EMULATOR_HTTP_PORT=str(port),
        ENEDIS_EMULATOR_WITH_DEMO="false",
        ENEDIS_EMULATOR_EXTRA_PRMS=str(prms),
        ENEDIS_EMULATOR_EXTRA_PLAIN="true",
        ENEDIS_EMULATOR_QUOTA_TIME_SCALE=str(scale),
        ENEDIS_EMULATOR_REQUESTS_PER_SECOND=str(Q3),
        ENEDIS_EMULATOR_REQUESTS_PER_HOUR=str(Q4),
        ENEDIS_EMULATOR_ENFORCE_QUOTAS="true" if enforce else "false",
        ENEDIS_EMULATOR_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen([sys.executable, "-m", "enedis_emulator"], env=env)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("the emulator did not start")


async def backfill(
    server: EmbeddedPostgres,
    *,
    prms: int,
    months: int,
    scale: float,
    workers: int,
    enforce: bool,
    label: str,
) -> Run:
    database = f"bench_{int(time.time() * 1000)}"
    server.create_database(database, template="bench_template")
    pool = await create_pool(PostgresSettings(dsn=server.dsn(database)))
    port = free_port()
    emulator = start_emulator(port, prms, scale, enforce)
    base = f"http://127.0.0.1:{port}"
    try:
        person = await pool.fetchval(
            "INSERT INTO people (display_name) VALUES ('bench') RETURNING person_id"
        )
        ids = [synthetic_prm(i) for i in range(prms)]
        await consent_callback.record_callback(
            pool,
            person_id=str(person),
            usage_point_id=";".join(ids),
            now=datetime.now(UTC),
            verified_by="bench",  # synthetic PRMs: no holder to verify against
        )
        per_second, per_hour = (Q3, Q4) if enforce else (10**6, 10**9)
        settings = Settings(
            base_url=base,
            token_url=f"{base}/oauth2/v3/token",
            requests_per_second=per_second,
            requests_per_hour=per_hour,
            quota_time_scale=scale,
            workers=workers,
        )
        limiter = SlidingWindowLimiter.per_second_and_hour(
            per_second,
            per_hour,
            time_scale=scale,
            margin_s=settings.quota_margin_s,
        )
        client = DataConnectClient(settings, limiter)
        publisher = CountingPublisher()
        collector = Collector(
            settings,
            client,
            publisher,
            PostgresRepository(pool),
            streams=(Stream.LOAD_CURVE,),
        )
        end = collector.available_end()
        needed = prms * (2 + windows_per_prm(months, end)) + 1
        load_before = load_average()
        cpu_emulator = cpu_seconds(emulator.pid)
        cpu_collector = time.process_time()
        began = time.perf_counter()

        async def progress() -> None:
            step = max(10.0, needed / (Q4 * scale / 3600) / 12)
            while True:
                await asyncio.sleep(step)
                done = limiter.acquired
                spent = time.perf_counter() - began
                print(
                    f"    {label}: {done}/{needed} requests, {spent:.0f} s, "
                    f"{done / spent:.1f} req/s",
                    flush=True,
                )

        reporter = asyncio.create_task(progress())
        try:
            report = await collector.run_cycle()
        finally:
            reporter.cancel()
        elapsed = time.perf_counter() - began
        cpu_collector = time.process_time() - cpu_collector
        cpu_emulator = cpu_seconds(emulator.pid) - cpu_emulator
        async with httpx.AsyncClient() as http:
            stats = (await http.get(f"{base}/_emulator/stats")).json()
        await client.aclose()
        return Run(
            elapsed=elapsed,
            needed=needed,
            calls=limiter.acquired,
            accepted=stats["calls"],
            throttled=stats["throttled"],
            holes=report.holes,
            failed=len(report.failed),
            readings=publisher.readings,
            cpu_collector=cpu_collector,
            cpu_emulator=cpu_emulator,
            load=(load_before + load_average()) / 2,
        )
    finally:
        emulator.terminate()
        emulator.wait()
        await pool.close()


def one_run(
    server: EmbeddedPostgres,
    args: argparse.Namespace,
    scale: float,
    prms: int,
    label: str,
) -> Run:
    run = asyncio.run(
        backfill(
            server,
            prms=prms,
            months=args.months,
            scale=scale,
            workers=args.workers,
            enforce=True,
            label=label,
        )
    )
    minimum = run.needed / Q4 * 3600 / scale
    print(
        f"{label}: {run.elapsed:.1f} s scaled = {run.elapsed * scale / 3600:.2f} h "
        f"real, ratio {run.elapsed / minimum:.3f}; requests sent {run.calls}, "
        f"answered {run.accepted} + token (needed {run.needed}), 429s "
        f"{run.throttled}, holes {run.holes}, failed {run.failed}, readings "
        f"{run.readings:,}; CPU collector {run.cpu_collector:.0f} s, emulator "
        f"{run.cpu_emulator:.0f} s; load {run.load:.2f}",
        flush=True,
    )
    return run


def summary(runs: list[Run], args: argparse.Namespace, scale: float, prms: int) -> None:
    needed = runs[0].needed
    minimum_h = needed / Q4
    sliding_h = sliding_minimum_s(needed) / 3600
    elapsed = sorted(r.elapsed for r in runs)
    median_h = statistics.median(elapsed) * scale / 3600
    windows = windows_per_prm(args.months, date.today() - timedelta(1))  # noqa: DTZ011 - a label
    print(
        f"== backfill {prms} PRMs x {args.months} months of PT30M curves: {needed:,} "
        f"requests ({prms} x (2 customers + {windows} windows) + token)\n"
        f"   quota-bound minimum (requests / 10,000 per hour): {minimum_h:.2f} h; "
        f"best sliding-window schedule: {sliding_h:.2f} h\n"
        f"   measured, median of {len(runs)}: {median_h:.2f} h real "
        f"({statistics.median(elapsed):.0f} s at x{scale:g}; runs "
        + ", ".join(f"{e * scale / 3600:.2f}" for e in elapsed)
        + f" h); ratio {median_h / minimum_h:.3f} to the minimum (target <= 1.05), "
        f"{median_h / sliding_h:.3f} to the best sliding schedule",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prms", type=int, default=1000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument(
        "--scale",
        default="auto",
        help="time scale of both quota windows, or 'auto': the largest whole scale "
        "at which the scaled Q4 asks at most --headroom of the calibrated capacity",
    )
    parser.add_argument("--headroom", type=float, default=0.6)
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="runs of the --prms case (one lasts ~40 min here: see --small-prms)",
    )
    parser.add_argument(
        "--small-prms",
        type=int,
        default=100,
        help="then this many PRMs --small-runs times, same scale, for medians and a "
        "spread in minutes; 0: none",
    )
    parser.add_argument("--small-runs", type=int, default=3)
    parser.add_argument(
        "--workers",
        type=int,
        default=16,
        help="twice the service default: time scaling shrinks the quota windows, "
        "not the round trips, so each request's latency weighs x scale more",
    )
    parser.add_argument("--calibrate-prms", type=int, default=20)
    args = parser.parse_args()
    if args.months != 24:
        raise SystemExit("--months: the collector's curve history is 24 months")

    print(f"machine: {machine()}")
    print(f"note: {NOISE}")
    base_dir = Path(tempfile.mkdtemp(prefix="sen1-bench-enedis-"))
    server = EmbeddedPostgres(base_dir / "pg", port=free_port())
    server.start()
    try:
        server.create_database("bench_template")
        migrate.upgrade(server.dsn("bench_template"))
        calibration = asyncio.run(
            backfill(
                server,
                prms=args.calibrate_prms,
                months=args.months,
                scale=1.0,
                workers=args.workers,
                enforce=False,
                label="calibration",
            )
        )
        capacity = calibration.calls / calibration.elapsed
        margin = Settings().quota_margin_s
        if args.scale == "auto":
            scale = auto_scale(capacity, args.headroom, margin)
        else:
            scale = float(args.scale)
        rate = Q4 * scale / 3600
        print(
            f"calibration (quotas off, {args.calibrate_prms} PRMs, {args.workers} "
            f"workers): {capacity:.0f} requests/s; CPU per request: collector "
            f"{calibration.cpu_collector / calibration.calls * 1000:.1f} ms, emulator "
            f"{calibration.cpu_emulator / calibration.calls * 1000:.1f} ms; load "
            f"{calibration.load:.2f}"
        )
        print(
            f"quotas: Q3 {Q3}/s and Q4 {Q4:,}/h, time-scaled x{scale:g} on both sides "
            f"(emulator windows and collector limiter: 1 s -> {1000 / scale:.1f} ms, "
            f"1 h -> {3600 / scale:.0f} s); the scaled Q4 asks {rate:.0f} requests/s, "
            f"{rate / capacity:.0%} of the calibrated capacity and "
            f"{rate / q3_rate(scale, margin):.0%} of the per-second window at its "
            f"widest ({margin * 1000:.0f} ms jitter margin + up to "
            f"{SlidingWindowLimiter.JITTER_CAP:.0%} learnt from 429s)"
            + (" (auto)" if args.scale == "auto" else "")
            + ("" if rate < 0.8 * capacity else "  ** too close: CPU-bound **")
        )
        cases = [(args.prms, args.runs)]
        if args.small_prms and args.small_runs:
            cases.append((args.small_prms, args.small_runs))
        for prms, count in cases:
            runs = [
                one_run(server, args, scale, prms, f"{prms} PRMs, run {n}/{count}")
                for n in range(1, count + 1)
            ]
            summary(runs, args, scale, prms)
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
