"""Live power of a home -> its neighbourhood's load, through the whole `make run` stack.

Starts ``sen1-stack run`` (what ``make run`` runs: broker, PostgreSQL, MQTT broker,
emulators, ingest-flukso, aggregator, api…) on free ports in a temporary folder,
adds one FluksoMeter to a demo building (through the registry, as an operator
would), and publishes its gauge over MQTT every second: 0 W, then steps of
+400 kW / back to 0 every 5 s. For each step it measures the time from the MQTT
publish to the first ``neighbourhood_load`` sample of that IRIS that shows it
(the load the api serves and congestion watches): p50 / p99 over ``BENCH_STEPS``
steps. Raw limits in the same run: the MQTT round trip alone (publish -> a
subscriber of the same topic) and the aggregator's sample period.

Usage: ``uv run python bench/bench_live_load.py`` (env: BENCH_STEPS=20).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
import asyncpg

from aggregator.settings import Settings as AggregatorSettings
from energy_store import demo
from sen1_stack.broker import free_port

STEPS = int(os.environ.get("BENCH_STEPS", "20"))
STEP_W = 400_000.0
STEP_S = 5.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def start_stack(var_dir: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SEN1_VAR_DIR": str(var_dir),
        "SEN1_KAFKA_PORT": str(ports["kafka"]),
        "SEN1_POSTGRES_PORT": str(ports["postgres"]),
        "SEN1_MQTT_PORT": str(ports["mqtt"]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sen1_stack", "run"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "Ctrl-C stops everything" in line:
            return proc
    proc.kill()
    raise RuntimeError("the stack did not come up")


def config(sensor: str) -> bytes:
    """A one-sensor FluksoMeter config, as the firmware publishes it (retained)."""
    return json.dumps({
        "main": {"hw_major": "2", "phase": 1, "max_sensors": 6},
        "1": {"id": sensor, "enable": 1, "type": "electricity", "function": "main",
              "data_type": "counter", "class": "analog", "port": [1],
              "voltage": 230, "current": 50},
    }).encode()  # fmt: skip


async def load(conn: asyncpg.Connection, iris: str) -> tuple[object, float] | None:
    row = await conn.fetchrow(
        "SELECT at, consumption_kw FROM neighbourhood_load WHERE iris = $1 "
        "ORDER BY at DESC LIMIT 1",
        iris,
    )
    return (row["at"], row["consumption_kw"]) if row else None


async def mqtt_round_trip(port: int, n: int = 50) -> list[float]:
    topic = f"/bench/{secrets.token_hex(4)}"
    lags = []
    async with (
        aiomqtt.Client("127.0.0.1", port) as sub,
        aiomqtt.Client("127.0.0.1", port) as pub,
    ):
        await sub.subscribe(topic)
        for _ in range(n):
            t0 = time.perf_counter()
            await pub.publish(topic, b"x")
            async for _message in sub.messages:
                break
            lags.append(time.perf_counter() - t0)
    return sorted(lags)


async def measure(ports: dict[str, int]) -> tuple[list[float], list[float]]:
    territory = demo.build()
    building = territory.buildings[0]
    iris = building.iris
    sensor = secrets.token_hex(16)
    device = secrets.token_hex(16)
    dsn = f"postgresql://postgres@127.0.0.1:{ports['postgres']}/sen1"
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector, "
        "building_id) VALUES ($1, 'flukso', 'electricity', 'consumption', "
        "'residential', $2)",
        sensor,
        str(building.building_id),
    )
    log(f"bench meter added to building {building.building_id} (IRIS {iris})")
    ups: list[float] = []
    downs: list[float] = []
    async with aiomqtt.Client("127.0.0.1", ports["mqtt"]) as mqtt:
        await mqtt.publish(
            f"/device/{device}/config/sensor", config(sensor), retain=True
        )

        async def gauge(watts: float) -> float:
            now = time.time()
            payload = json.dumps([int(now), int(watts), "W"]).encode()
            await mqtt.publish(f"/sensor/{sensor}/gauge", payload)
            return time.perf_counter()

        # Until the aggregator places the new meter, its power counts nowhere.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await gauge(0.0)
            placed = await conn.fetchval(
                "SELECT iris FROM aggregator_meter_power WHERE meter_id = $1", sensor
            )
            if placed == iris:
                break
            await asyncio.sleep(1)
        else:
            raise RuntimeError("the aggregator never placed the bench meter")
        for step in range(STEPS):
            for watts, lags in ((STEP_W, ups), (0.0, downs)):
                before = await load(conn, iris)
                base = before[1] if before else 0.0
                sent = await gauge(watts)
                target_up = watts > 0
                seen = None
                end = time.monotonic() + STEP_S
                next_gauge = sent + 1.0
                while time.monotonic() < end:
                    current = await load(conn, iris)
                    if current and seen is None:
                        kw = current[1]
                        if (target_up and kw >= base + 0.9 * STEP_W / 1000) or (
                            not target_up and kw <= base - 0.9 * STEP_W / 1000
                        ):
                            seen = time.perf_counter() - sent
                    if time.perf_counter() >= next_gauge:  # 1 Hz, like a device
                        await gauge(watts)
                        next_gauge += 1.0
                    await asyncio.sleep(0.02)
                lags.append(seen if seen is not None else float("inf"))
            log(
                f"  step {step + 1}/{STEPS}: up {ups[-1]:.2f} s, down {downs[-1]:.2f} s"
            )
    await conn.execute("DELETE FROM meters WHERE meter_id = $1", sensor)
    await conn.close()
    return sorted(ups), sorted(downs)


def p99(values: list[float]) -> float:
    return values[max(0, int(len(values) * 0.99) - 1)]


async def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-live-"))
    os.chmod(base, 0o755)  # noqa: S103 - the embedded PostgreSQL user reads it
    ports = {"kafka": free_port(), "postgres": free_port(), "mqtt": free_port()}
    log(f"machine: {platform.platform()} cpus={os.cpu_count()}")
    log("starting the stack (sen1-stack run)")
    proc = start_stack(base / "var", ports)
    try:
        round_trip = await mqtt_round_trip(ports["mqtt"])
        ups, downs = await measure(ports)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    both = sorted(ups + downs)
    print(f"\nmachine: {platform.platform()} cpus={os.cpu_count()}; {STEPS} steps")
    print(f"raw: MQTT publish -> subscriber: p50 {statistics.median(round_trip) * 1000:.1f}"
          f" ms, p99 {p99(round_trip) * 1000:.1f} ms; the aggregator samples every "
          f"{AggregatorSettings().sample_interval_s} s")  # fmt: skip
    print(f"home power -> neighbourhood load: p50 {statistics.median(both):.2f} s, "
          f"p99 {p99(both):.2f} s (steps up: p50 {statistics.median(ups):.2f} s; "
          f"down: p50 {statistics.median(downs):.2f} s)")  # fmt: skip


if __name__ == "__main__":
    # Settings come from the environment (see above); --help answers without running.
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    asyncio.run(main())
