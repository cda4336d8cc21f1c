"""Backfill of N PRMs x M months of 30-minute load curves against the emulator.

The emulator (a separate process, real HTTP) enforces the Enedis quotas scaled in
time by ``--scale``: 5 x scale requests/s and 10,000 x scale requests/h, i.e. one
emulated hour lasts 3600/scale seconds. The quota-bound minimum is
``requests / (10,000 x scale) h``; the figure to compare is measured/minimum.
The collector side is the real client + shared limiter + mapping + publisher
(in-memory publisher: the bench measures the upstream-bound part, not Kafka).

    uv run python bench/bench_enedis.py --prms 1000 --months 24 --scale 60 --runs 1
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta

import httpx

from energy_core import topics
from energy_core.domain import Prm
from energy_core.errors import PermanentError, RateLimitedError
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_to_proto
from ingest_enedis.client import DataConnectClient
from ingest_enedis.emulator.profiles import synthetic_prm
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.mapping import Stream, to_batch
from ingest_enedis.service import months_before
from ingest_enedis.settings import Settings
from sen1_stack.broker import free_port


def windows(months: int, today: date) -> list[tuple[date, date]]:
    start, out = months_before(today, months), []
    while start < today:
        out.append((start, min(start + timedelta(days=7), today)))
        start += timedelta(days=7)
    return out


async def backfill(
    base: str, prms: int, months: int, scale: float, workers: int
) -> tuple[float, int, int]:
    settings = Settings(
        base_url=base,
        token_url=f"{base}/oauth2/v3/token",
        requests_per_second=5 * scale,
        requests_per_hour=10_000 * scale,
        workers=workers,
    )
    limiter = SlidingWindowLimiter.per_second_and_hour(5 * scale, 10_000 * scale)
    client = DataConnectClient(settings, limiter)
    publisher = InMemoryPublisher()
    today = date.today() - timedelta(days=1)  # noqa: DTZ011 - a bench horizon only
    jobs = asyncio.Queue[tuple[str, date, date]]()
    for i in range(prms):
        for start, end in windows(months, today):
            jobs.put_nowait((synthetic_prm(i), start, end))
    total = jobs.qsize()
    throttled = 0
    done = 0
    began = time.perf_counter()

    async def worker() -> None:
        nonlocal throttled, done
        while not jobs.empty():
            prm, start, end = jobs.get_nowait()
            payload = None
            while payload is None:
                try:
                    payload = await client.metering(Stream.LOAD_CURVE, prm, start, end)
                except RateLimitedError as exc:  # a 429 got through: pause everybody
                    throttled += 1
                    limiter.pause((exc.retry_after or 1.0) / scale)
                except PermanentError:  # e.g. ADAM-ERR0123 before a late activation
                    payload = {"meter_reading": {"interval_reading": []}}
            batch = to_batch(Prm(prm), Stream.LOAD_CURVE, payload, produced_at=None)  # type: ignore[arg-type]
            await publisher.publish(topics.READINGS, prm, batch_to_proto(batch))
            publisher.sent.clear()  # keep memory flat
            done += 1
            if done % max(1, total // 10) == 0:
                print(
                    f"  {done}/{total} windows, {time.perf_counter() - began:.1f} s",
                    flush=True,
                )

    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - began
    await client.aclose()
    return elapsed, total, throttled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prms", type=int, default=1000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--scale", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    port = free_port()
    env = dict(
        os.environ,
        ENEDIS_EMULATOR_HTTP_PORT=str(port),
        ENEDIS_EMULATOR_WITH_DEMO="false",
        ENEDIS_EMULATOR_EXTRA_PRMS=str(args.prms),
        ENEDIS_EMULATOR_QUOTA_TIME_SCALE=str(args.scale),
        ENEDIS_EMULATOR_LOG_LEVEL="WARNING",
    )
    emulator = subprocess.Popen(
        [sys.executable, "-m", "ingest_enedis.emulator"], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        print(
            f"machine: {platform.platform()} {platform.processor()} cpus={os.cpu_count()}"
        )
        results = []
        for run in range(args.runs):
            elapsed, total, throttled = asyncio.run(
                backfill(base, args.prms, args.months, args.scale, args.workers)
            )
            results.append(elapsed)
            print(
                f"run {run + 1}: {total} requests in {elapsed:.1f} s ({total / elapsed:.1f} req/s), 429s: {throttled}"
            )
        stats = httpx.get(f"{base}/_emulator/stats").json()
        # a sliding-window limiter: below one hour's quota only Q3 binds
        minimum_h = max(total / 10_000, total / (5 * 3600))
        minimum_s = minimum_h * 3600 / args.scale
        median = statistics.median(results)
        print(
            f"quotas: 5/s and 10,000/h, time-scaled x{args.scale:g} (emulator enforcing; server-side 429s: {stats['throttled']})"
        )
        print(
            f"backfill {args.prms} PRMs x {args.months} months PT30M: {total} requests"
        )
        print(f"quota-bound minimum: {minimum_h:.2f} h real = {minimum_s:.1f} s scaled")
        print(
            f"measured median: {median:.1f} s scaled = {median * args.scale / 3600:.2f} h real; "
            f"ratio {median / minimum_s:.3f} (target <= 1.05)"
        )
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()
