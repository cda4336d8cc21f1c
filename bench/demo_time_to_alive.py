"""How long until the demo is alive: ``uv run --frozen python bench/demo_time_to_alive.py``.

Starts ``sen1-stack run`` on a fresh data folder (as a fresh clone's ``make run``
does), then polls its database until (1) every demo PRM has its year of daily
consumption (the days the emulator publishes for it: a year, or since its
activation when that is more recent), (2) every IRIS of the demo has
non-empty daily rollups and (3) every demo PCE has gas readings (through the GRDF
emulator and ingest-grdf at make run's demo quotas). Prints the seconds from the start for each, then stops
the stack (Ctrl-C, as a user would). It runs on a loopback address of its own
(127.x.y.z, the services on their usual ports there; brokers and PostgreSQL on free
ports), so a ``make run`` on 127.0.0.1 does not collide.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from enedis_emulator import profiles
from energy_core.domain.readings import Energy
from energy_store import demo
from sen1_stack.broker import free_port

DAILY = """
SELECT s.meter_id, count(*) AS days
FROM series s JOIN readings r USING (series_id)
WHERE s.scheme = 'prm' AND s.period = 'daily' AND s.kind = 'interval'
  AND s.direction = 'consumption'
GROUP BY s.meter_id
"""
IRIS_WITH_ROLLUPS = """
SELECT count(DISTINCT scope_id) FROM rollups
WHERE scope = 'neighbourhood' AND bucket = 'P1D' AND delivery_points > 0
"""
PCES_WITH_GAS = """
SELECT count(DISTINCT s.meter_id) FROM series s
WHERE s.scheme = 'pce' AND s.meter_id = ANY($1::text[])
  AND EXISTS (SELECT 1 FROM readings r WHERE r.series_id = s.series_id)
"""
MARKS = 3


def _expected_days(now: datetime) -> dict[str, int]:
    """Days of daily data each demo PRM should have after its backfill (-2 for
    the late meters, published a day later)."""
    today = now.date()
    year_ago = today - timedelta(days=365)
    out = {}
    for i, prm in enumerate(demo.build().prms):
        meter = profiles.demo_meter(str(prm), i, today)
        first = max(meter.activation, year_ago + timedelta(days=1))
        out[str(prm)] = max(0, (today - first).days - 2)
    return out


async def _watch(dsn: str, began: float, budget_s: float) -> dict[str, float]:
    expected = _expected_days(datetime.now(UTC))
    territory = demo.build()
    iris = len(territory.neighbourhoods)
    pces = [str(m.meter) for m in territory.meters if m.energy is Energy.GAS]
    marks: dict[str, float] = {}
    while time.monotonic() - began < budget_s and len(marks) < MARKS:
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(1)
            continue
        try:
            while time.monotonic() - began < budget_s and len(marks) < MARKS:
                try:
                    rows = await conn.fetch(DAILY)
                    hoods = await conn.fetchval(IRIS_WITH_ROLLUPS)
                    gas = await conn.fetchval(PCES_WITH_GAS, pces)
                except asyncpg.UndefinedTableError:  # not migrated yet
                    await asyncio.sleep(1)
                    continue
                days = {r["meter_id"]: r["days"] for r in rows}
                full = sum(1 for p, n in expected.items() if days.get(p, 0) >= n)
                elapsed = time.monotonic() - began
                if full == len(expected) and "daily" not in marks:
                    marks["daily"] = elapsed
                if hoods == iris and "rollups" not in marks:
                    marks["rollups"] = elapsed
                if gas == len(pces) and "gas" not in marks:
                    marks["gas"] = elapsed
                print(
                    f"{elapsed:6.1f} s: {full}/{len(expected)} PRMs with their year "
                    f"of daily data, {hoods}/{iris} IRIS with daily rollups, "
                    f"{gas}/{len(pces)} demo PCEs with gas readings",
                    flush=True,
                )
                await asyncio.sleep(2)
        finally:
            await conn.close()
    return marks


def main() -> int:
    """Starts the stack, measures, stops it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--keep", type=Path, help="copy the stack's log here (where the time went)"
    )
    args = parser.parse_args()
    print(f"load average before start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="sen1-alive-") as var_dir:
        ports = {"kafka": free_port(), "postgres": free_port(), "mqtt": free_port()}
        rng = random.SystemRandom()  # a loopback address of its own (127/8 is lo)
        host = f"127.{rng.randint(64, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
        env = {
            **os.environ,
            "SEN1_VAR_DIR": var_dir,
            "SEN1_HOST": host,
            "SEN1_KAFKA_PORT": str(ports["kafka"]),
            "SEN1_POSTGRES_PORT": str(ports["postgres"]),
            "SEN1_MQTT_PORT": str(ports["mqtt"]),
        }
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sen1_stack", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log = Path(var_dir) / "stack.log"
        up: list[float] = []

        def drain() -> None:
            assert proc.stdout is not None
            with log.open("w") as out:
                for line in proc.stdout:
                    out.write(line)
                    if "Ctrl-C stops everything" in line:
                        up.append(time.monotonic() - began)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        dsn = f"postgresql://postgres@{host}:{ports['postgres']}/sen1"
        try:
            marks = asyncio.run(_watch(dsn, began, args.timeout))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            reader.join(timeout=5)
        print(f"stack up after {up[0]:.1f} s" if up else "stack never came up")
        for name, label in (("daily", "every demo PRM has its year of daily data"),
                            ("rollups", "every IRIS has daily rollups"),
                            ("gas", "every demo PCE has gas readings")):  # fmt: skip
            seconds = marks.get(name)
            print(f"{label}: " + (f"{seconds:.1f} s" if seconds else "NOT reached"))
        for line in log.read_text().splitlines():
            if "curves next" in line or "up in" in line:
                print(line)  # where the time went: the stack, ingest-enedis' daily pass
        print(f"load average at the end: {os.getloadavg()}")
        if args.keep:
            args.keep.write_text(log.read_text())
        if len(marks) < MARKS:
            print(log.read_text()[-4000:])
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
