"""GRDF backfill: N PCEs x 3 years of daily informatives (+ 5 years of published
readings and the contract data), quota-bound, against the ADICT emulator.

What runs is the real service loop (``ingest_grdf.service.GrdfService``: one
token, one limiter shared by the workers, the client, the mapping) against the
emulator in its own process over real HTTP, the emulator enforcing ADICT's
1 call per second. Time is scaled by ``--scale``: the emulator serves ``scale``
calls per second and the service's limiter spaces calls by ``1/scale`` s, so
every duration converts back to real time by multiplying by ``scale``. Readings
are counted and dropped (Kafka is not what bounds a quota-bound backfill) and the
cursors live in the in-memory repository (the SQL is a few statements per
window, far below one call per second).

The daily cap (6,000 calls per Paris day) is not time-scaled (the emulator
counts Paris calendar days), so the emulator's cap is lifted for the run and
the cap's effect is added to the printed minimum: ``calls / 1 per s`` while
calls fit in a day's cap, plus one waiting day per further 6,000 calls.

    uv run python bench/bench_grdf.py --pces 20 --scale 4
    uv run python bench/bench_grdf.py --pces 1000 --scale 4   # ~28 min

The service's margin above ``1/rate`` is scaled with the quota too (never below
5 ms), so a scaled run keeps real time's ratio to the minimum as long as the
machine's jitter stays under that margin.

The minimum counts the calls any client must make, from the rights alone, not
the calls the service made (a retried 429 is the service's cost, not part of
the floor): per PCE one informatives call for its whole 3-year window (the
contract documents no maximum range), one published call for its 5 years, one
call each for the contract and the technical data its right's scope includes.
The rights list read before the timed cycle is neither timed nor counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from energy_core.loops import Backoff
from energy_core.topics import TopicSpec
from ingest_grdf.client import AdictClient, QuotaLimiter, TokenProvider
from ingest_grdf.client.limiter import quiet_gc
from ingest_grdf.mapping import AccessRight
from ingest_grdf.repository.memory import MemoryRepository
from ingest_grdf.service import GrdfService
from ingest_grdf.settings import OKTA_TOKEN_PATH, Settings
from sen1_stack.broker import free_port

DAILY_CAP = 6000
DAY_S = 86400


class CountingPublisher:
    """Counts readings and drops them."""

    def __init__(self) -> None:
        self.records = 0
        self.readings = 0

    async def publish(self, spec: TopicSpec, key: str, value: Any) -> None:
        self.records += 1
        self.readings += len(getattr(value, "readings", ()))

    async def flush(self) -> None:
        return None


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            try:
                if (await http.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the emulator did not start")


def required_calls(right: AccessRight) -> int:
    """The calls no client can avoid for one PCE's first collection."""
    informatives = right.informatives and not right.injection
    return sum((informatives, right.published, right.contractual, right.technical))


def minimum_s(calls: int, rate: float) -> float:
    """Quota-bound minimum in real seconds: 1 call/s, 6,000 calls a Paris day."""
    extra_days = max(0, (calls - 1) // DAILY_CAP)
    return calls / rate + extra_days * (DAY_S - DAILY_CAP / rate)


def start_emulator(args: argparse.Namespace) -> tuple[str, subprocess.Popen[bytes]]:
    """The emulator in its own process, quota scaled, daily cap lifted."""
    port = free_port()
    env = {
        **os.environ,
        "GRDF_EMULATOR_HTTP_PORT": str(port),
        "GRDF_EMULATOR_REQUESTS_PER_SECOND": str(args.scale),
        "GRDF_EMULATOR_DAILY_CAP": str(10**9),
        "GRDF_EMULATOR_WITH_DEMO": "false",
        "GRDF_EMULATOR_EXTRA_PCES": str(args.pces),
        "GRDF_EMULATOR_MISSING_DAY_RATE": "0",
        "GRDF_EMULATOR_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "grdf_emulator"], env=env)
    return f"http://127.0.0.1:{port}", process


async def run(args: argparse.Namespace, base: str) -> None:
    await wait_ready(base)
    quiet_gc()  # as the service's main does
    settings = Settings(
        base_url=f"{base}/adict/v2",
        token_url=f"{base}{OKTA_TOKEN_PATH}",
        quota_time_scale=args.scale,
        workers=args.workers,
    )
    http = httpx.AsyncClient(timeout=60)
    tokens = TokenProvider(
        http,
        settings.token_url,
        settings.client_id,
        settings.client_secret.get_secret_value(),
        settings.scope,
    )
    limiter = QuotaLimiter(1.0, 10**9, time_scale=args.scale)
    client = AdictClient(
        http,
        settings.base_url,
        tokens,
        limiter,
        backoff=Backoff(0.05, 2.0, jitter=True),
        max_attempts=20,
    )
    publisher = CountingPublisher()
    repository = MemoryRepository()
    service = GrdfService(
        settings, client, publisher, repository, clock=lambda: datetime.now(UTC)
    )
    await service.check_rights()
    today = service.today()
    collectable = [r for r in await repository.rights() if r.collectable(today)]
    pces = len(collectable)
    required = sum(required_calls(r) for r in collectable)
    before = limiter.used_today
    began = time.perf_counter()
    await service.run_cycle()
    elapsed = time.perf_counter() - began
    calls = limiter.used_today - before
    stats = (await http.get(f"{base}/_emulator/stats")).json()
    await http.aclose()
    real = elapsed * args.scale
    floor = minimum_s(required, 1.0)
    rate_floor = required / 1.0
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"PCEs: {args.pces}, scale: {args.scale}, workers: {args.workers}")
    print(
        f"calls: {calls} made, {required} required ({required / pces:.2f} per PCE over {pces} PCEs: the {args.pces} synthetic ones and the sandbox ones with an Active right), 429s: {client.rate_limited} (emulator: {stats['throttled']}), readings: {publisher.readings}"
    )
    print(f"measured: {elapsed:.1f} s scaled = {real:.0f} s real")
    margin = calls * (limiter.spacing - 1.0 / args.scale) * args.scale
    print(
        f"where the time beyond the minimum went (real s): spacing margin {margin:.0f}, "
        f"slots released late (busy loop or machine) {limiter.late_s * args.scale:.0f}, "
        f"free slots no worker was ready for {limiter.idle_s * args.scale:.0f}, "
        f"calls beyond the required (429s retried) {calls - required}"
    )
    print(
        f"rate-bound minimum (required calls / 1 per s): {rate_floor:.0f} s real; ratio {real / rate_floor:.3f}"
    )
    print(f"with the daily cap (6,000/day): minimum {floor / 3600:.2f} h real")
    full = 1000 * required / pces
    print(
        f"projected 1,000 PCEs: {full:.0f} required calls, quota-bound minimum {minimum_s(int(full), 1.0) / 3600:.2f} h real"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pces", type=int, default=20, help="PCEs with an Active right"
    )
    parser.add_argument(
        "--scale", type=float, default=20.0, help="time scale of the 1 call/s quota"
    )
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    base, emulator = start_emulator(args)
    try:
        asyncio.run(run(args, base))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
